import type { CatalogObject, ObjectKind } from './types.js';

const KIND_ORDER: readonly ObjectKind[] = [
  'role',
  'schema',
  'extension',
  'collation',
  'type',
  'function',
  'sequence',
  'table',
  'sequence_owner',
  'constraint',
  'index',
  'view',
  'materialized_view',
  'trigger',
  'rls',
  'policy',
  'grant',
  'owner',
  'comment',
  'sequence_value',
];
const KIND_RANK = new Map(KIND_ORDER.map((k, i) => [k, i]));

/** Primary key, unique and exclusion constraints before foreign keys (which need them on the referenced table). */
function subRank(o: CatalogObject): number {
  return o.kind === 'constraint' && o.definition.startsWith('FOREIGN KEY') ? 1 : 0;
}

interface Node {
  readonly o: CatalogObject;
  readonly rank: readonly [number, number];
  waitingOn: number;
  readonly dependents: Node[];
  done: boolean;
}

function compare(a: Node, b: Node): number {
  for (let i = 0; i < 2; i++) {
    const d = (a.rank[i] ?? 0) - (b.rank[i] ?? 0);
    if (d !== 0) return d;
  }
  return a.o.address < b.o.address ? -1 : a.o.address > b.o.address ? 1 : 0;
}

/** A binary min-heap of nodes by compare(). */
class Heap {
  private readonly items: Node[] = [];
  get size(): number {
    return this.items.length;
  }
  push(n: Node): void {
    const a = this.items;
    a.push(n);
    let i = a.length - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (compare(a[i] as Node, a[p] as Node) >= 0) break;
      [a[i], a[p]] = [a[p] as Node, a[i] as Node];
      i = p;
    }
  }
  pop(): Node | undefined {
    const a = this.items;
    const top = a[0];
    const last = a.pop();
    if (a.length > 0 && last) {
      a[0] = last;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        const r = l + 1;
        let m = i;
        if (l < a.length && compare(a[l] as Node, a[m] as Node) < 0) m = l;
        if (r < a.length && compare(a[r] as Node, a[m] as Node) < 0) m = r;
        if (m === i) break;
        [a[i], a[m]] = [a[m] as Node, a[i] as Node];
        i = m;
      }
    }
    return top;
  }
}

/**
 * The order in which to create objects: all pre-data before all post-data; inside a phase every object after the
 * objects it depends on (dependsOn, restricted to the objects given), ties broken by kind (schema, extension, type,
 * function, sequence, table, sequence_owner, constraint with PK/unique/exclusion before FK, index, view,
 * materialized_view, trigger, rls, policy, comment, sequence_value) and then by address. Deterministic: the input
 * order does not matter.
 *
 * A dependency on an object of a later phase cannot be honoured and is ignored. Cycles (possible between views
 * and functions with SQL-standard bodies) do not hang: when nothing is ready, the smallest remaining object (by
 * phase, kind, address) is emitted even though its dependencies are not all created, and the walk goes on.
 */
export function orderForCreate(objects: readonly CatalogObject[]): CatalogObject[] {
  const byPhase: [CatalogObject[], CatalogObject[]] = [[], []];
  const seen = new Set<string>();
  for (const o of objects) {
    if (seen.has(o.address)) continue;
    seen.add(o.address);
    byPhase[o.phase === 'pre-data' ? 0 : 1].push(o);
  }
  return [...orderPhase(byPhase[0]), ...orderPhase(byPhase[1])];
}

/** Kahn's algorithm over one phase, smallest ready object first; dependencies outside the phase are ignored. */
function orderPhase(objects: readonly CatalogObject[]): CatalogObject[] {
  const nodes = new Map<string, Node>();
  for (const o of objects) {
    nodes.set(o.address, {
      o,
      rank: [KIND_RANK.get(o.kind) ?? KIND_ORDER.length, subRank(o)],
      waitingOn: 0,
      dependents: [],
      done: false,
    });
  }
  for (const n of nodes.values()) {
    for (const dep of new Set(n.o.dependsOn)) {
      const d = nodes.get(dep);
      if (!d || d === n) continue;
      n.waitingOn++;
      d.dependents.push(n);
    }
  }
  const ready = new Heap();
  for (const n of nodes.values()) if (n.waitingOn === 0) ready.push(n);
  // every node in rank order, for cycle breaking
  const all = [...nodes.values()].sort(compare);
  let cursor = 0;
  const out: CatalogObject[] = [];
  while (out.length < nodes.size) {
    let n = ready.pop();
    if (!n) {
      while (cursor < all.length && (all[cursor] as Node).done) cursor++;
      n = all[cursor]; // a cycle: break it at the smallest object left
      if (!n) break;
    }
    if (n.done) continue;
    n.done = true;
    out.push(n.o);
    for (const d of n.dependents) {
      d.waitingOn--;
      if (d.waitingOn === 0 && !d.done) ready.push(d);
    }
  }
  return out;
}
