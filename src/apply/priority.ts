import type { Action } from '../plan/model.js';

const MiB = 1024 * 1024;

/**
 * Seconds an action is expected to take, for ordering only (never shown): a copy by its rows and its bytes; an index
 * or constraint build by the rows of the table it builds on (a sort of them); a read-back by the rows it hashes; the
 * large objects by their bytes; everything else nothing. Rates are what the apply of gen.sql moved on 2 cores
 * (docs/benchmarks.md); only their ratios matter. A read-back's bytes are unknown in plans saved before it had them.
 */
export function expectedSeconds(a: Action, rowsOfLock: ReadonlyMap<string, number>): number {
  if (a.kind === 'copy_table') {
    // a plan saved without rowMicros: rows and bytes as fitted before (3M narrow rows and 731 MiB of wide ones each
    // about 5 s)
    if (a.rowMicros === undefined) return a.estimatedRows / 780_000 + a.estimatedBytes / (185 * MiB);
    return (a.estimatedRows * a.rowMicros) / 1e6 + a.estimatedBytes / (100 * MiB);
  }
  // a read-back hashes every byte too: a wide table's (audit_log: 750k rows, 731 MiB) took 2.2 s, not 0.5
  if (a.kind === 'read_back') return a.estimatedRows / 1_500_000 + (a.estimatedBytes ?? 0) / (430 * MiB);
  if (a.kind === 'large_objects') return a.estimatedBytes / (100 * 1024 * 1024);
  if (
    a.kind === 'create_object' &&
    a.phase === 'post-data' &&
    (a.objectKind === 'index' || a.objectKind === 'constraint')
  ) {
    const rows = Math.max(0, ...a.locks.map((l) => rowsOfLock.get(l) ?? 0));
    return rows / 1_500_000;
  }
  return 0;
}

/**
 * The critical-path rank of every action: its own expected time plus the longer of the longest chain of actions that
 * depend on it and the other after-data builds on its own table locks (those share its table). The executor starts,
 * among the actions that may start, those of the highest rank first: a large table's copy and then its long index
 * builds before a small table's copy, so the apply's last stretch is not one table's builds run alone.
 */
export function criticalPathRanks(actions: readonly Action[]): Map<string, number> {
  const own = ownSeconds(actions);
  const dependents = new Map<string, string[]>();
  for (const a of actions)
    for (const d of a.dependsOn) {
      const list = dependents.get(d);
      if (list) list.push(a.id);
      else dependents.set(d, [a.id]);
    }
  // what the after-data builds of each lock add up to
  const buildsOfLock = new Map<string, number>();
  for (const a of actions)
    if (a.phase === 'post-data')
      for (const l of a.locks) buildsOfLock.set(l, (buildsOfLock.get(l) ?? 0) + (own.get(a.id) ?? 0));
  // the longest chain of dependents after an action (its own time included)
  const chain = new Map<string, number>();
  const visiting = new Set<string>();
  const chainOf = (id: string): number => {
    const known = chain.get(id);
    if (known !== undefined) return known;
    if (visiting.has(id)) return 0; // a cycle is the executor's error to report, not this ordering's
    visiting.add(id);
    let after = 0;
    for (const d of dependents.get(id) ?? []) after = Math.max(after, chainOf(d));
    const c = (own.get(id) ?? 0) + after;
    visiting.delete(id);
    chain.set(id, c);
    return c;
  };
  // the rank: the chain, or the action and the other builds on its own locks when they take longer; the builds of
  // a table are the action's own business, not passed on to what it waits for (a copy that another table's foreign
  // key waits on does not inherit that table's builds)
  const rank = new Map<string, number>();
  for (const a of actions) {
    let after = 0;
    for (const d of dependents.get(a.id) ?? []) after = Math.max(after, chainOf(d));
    if (a.phase !== 'pre-data')
      for (const l of a.locks)
        after = Math.max(after, (buildsOfLock.get(l) ?? 0) - (a.phase === 'post-data' ? (own.get(a.id) ?? 0) : 0));
    rank.set(a.id, (own.get(a.id) ?? 0) + after);
  }
  return rank;
}

/** `actions` by rank, highest first; equal ranks keep their order (the plan's). */
export function byRank<T extends { readonly id: string }>(
  actions: readonly T[],
  ranks: ReadonlyMap<string, number>,
  own: ReadonlyMap<string, number> = new Map(),
): T[] {
  return actions
    .map((a, i) => ({ a, i, r: ranks.get(a.id) ?? 0, o: own.get(a.id) ?? 0 }))
    .sort((x, y) => y.r - x.r || y.o - x.o || x.i - y.i)
    .map((x) => x.a);
}

/**
 * Every action's own expected seconds (expectedSeconds). Among actions of one rank (a table's after-data builds and
 * its read-back all rank as the sum of them) the longest starts first: what is left at the end is the short ones.
 */
export function ownSeconds(actions: readonly Action[]): Map<string, number> {
  const rowsOfLock = new Map<string, number>();
  // a table's lock key (`table s.n`, what its index and constraint builds hold) -> its rows, over all its copy parts
  for (const a of actions)
    if (a.kind === 'copy_table') {
      const l = `table ${a.table.schema}.${a.table.name}`;
      rowsOfLock.set(l, (rowsOfLock.get(l) ?? 0) + Math.max(0, a.estimatedRows));
    }
  return new Map(actions.map((a) => [a.id, expectedSeconds(a, rowsOfLock)]));
}
