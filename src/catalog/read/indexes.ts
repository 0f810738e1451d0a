import { address } from '../address.js';
import { rows, type ReadContext } from './context.js';
import type { ColumnRow } from './tables.js';

interface IndexRow {
  oid: number;
  relname: string;
  nspname: string;
  indrelid: number;
  def: string;
  indisunique: boolean;
  indisprimary: boolean;
  indisvalid: boolean;
  indisreplident: boolean;
  partial: boolean;
  has_exprs: boolean;
  keys: number[];
  indnkeyatts: number;
  relispartition: boolean;
  constraint_oid: number | null;
}

/**
 * Indexes that do not back a constraint and are not a partition's copy of a partitioned index (pg_get_indexdef);
 * REPLICA IDENTITY USING INDEX; and the copy key of every table (primary key, else the narrowest unique NOT NULL
 * index without predicate or expression).
 */
export async function readIndexes(ctx: ReadContext, columns: Map<number, ColumnRow[]>): Promise<void> {
  const list = await rows<IndexRow>(
    ctx,
    `SELECT i.indexrelid AS oid, ic.relname, n.nspname, i.indrelid, pg_catalog.pg_get_indexdef(i.indexrelid) AS def,
            i.indisunique, i.indisprimary, i.indisvalid, i.indisreplident,
            i.indpred IS NOT NULL AS partial, i.indexprs IS NOT NULL AS has_exprs,
            i.indkey::pg_catalog.int2[] AS keys, i.indnkeyatts, ic.relispartition,
            (SELECT co.oid FROM pg_catalog.pg_constraint co
              WHERE co.conindid = i.indexrelid AND co.conrelid = i.indrelid AND co.contype IN ('p', 'u', 'x')) AS constraint_oid
       FROM pg_catalog.pg_index i
       JOIN pg_catalog.pg_class ic ON ic.oid = i.indexrelid
       JOIN pg_catalog.pg_namespace n ON n.oid = ic.relnamespace
       JOIN pg_catalog.pg_class tc ON tc.oid = i.indrelid
      WHERE tc.relkind IN ('r', 'p', 'm') AND tc.relnamespace = ANY ($1::pg_catalog.oid[])
      ORDER BY ic.relname`,
    [ctx.nsOids],
  );

  for (const ix of list) {
    const rel = ctx.relations.get(ix.indrelid);
    if (!rel) continue;
    if (ix.constraint_oid !== null) {
      const owner = ctx.b.ownerOf('pg_constraint', ix.constraint_oid);
      if (owner) ctx.b.own('pg_class', ix.oid, owner);
      const draft = owner ? ctx.b.drafts.get(owner) : undefined;
      if (draft?.kind === 'constraint' && ix.indisreplident)
        ctx.b.drafts.set(draft.address, { ...draft, spec: { ...draft.spec, replicaIdentityIndex: ix.relname } });
      continue;
    }
    if (ix.relispartition || ctx.b.isMember('pg_class', ix.oid)) continue;
    const addr = address.index(ix.nspname, ix.relname);
    ctx.b.add({
      kind: 'index',
      // an index on a partitioned table is created on the whole tree (its partitions' copies are not listed)
      spec: { def: ix.def.replace(/ ON ONLY /, ' ON '), replicaIdentity: ix.indisreplident },
      address: addr,
      schema: ix.nspname,
      name: ix.relname,
      table: { schema: rel.schema, name: rel.name },
      deps: [rel.address],
    });
    ctx.b.own('pg_class', ix.oid, addr);
    ctx.b.commentable('pg_class', ix.oid, {
      target: addr,
      on: { on: 'INDEX', object: { schema: ix.nspname, name: ix.relname } },
      dependsOn: addr,
      schema: ix.nspname,
      table: { schema: rel.schema, name: rel.name },
    });
  }

  // copy keys
  const byTable = new Map<number, IndexRow[]>();
  for (const ix of list) {
    let l = byTable.get(ix.indrelid);
    if (!l) byTable.set(ix.indrelid, (l = []));
    l.push(ix);
  }
  for (const [oid, stage] of ctx.tables) {
    const cols = new Map((columns.get(oid) ?? []).map((c) => [c.attnum, c]));
    const keyCols = (ix: IndexRow): string[] | null => {
      const names: string[] = [];
      for (const n of ix.keys.slice(0, ix.indnkeyatts)) {
        const c = cols.get(n);
        if (!c) return null; // an expression
        names.push(c.attname);
      }
      return names;
    };
    const indexes = byTable.get(oid) ?? [];
    const pk = indexes.find((ix) => ix.indisprimary && ix.indisvalid);
    const pkCols = pk ? keyCols(pk) : null;
    if (pkCols) {
      stage.key = pkCols;
      stage.keyKind = 'primary';
      continue;
    }
    const candidates = indexes
      .filter((ix) => ix.indisunique && ix.indisvalid && !ix.partial && !ix.has_exprs)
      .map((ix) => ({ ix, names: keyCols(ix) }))
      .filter(
        (c): c is { ix: IndexRow; names: string[] } =>
          c.names !== null &&
          c.names.every((n) => [...cols.values()].find((col) => col.attname === n)?.attnotnull === true),
      )
      .sort(
        (a, b) =>
          a.names.length - b.names.length || (a.ix.relname < b.ix.relname ? -1 : a.ix.relname > b.ix.relname ? 1 : 0),
      );
    const best = candidates[0];
    if (best) {
      stage.key = best.names;
      stage.keyKind = 'unique';
    }
  }
}
