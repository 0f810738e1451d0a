import { qualified, quoteIdent } from '../../db/ident.js';
import { reloptionsSql } from './options.js';
import { mapPlace, mapRef, schemaOf, type KindModule, type NameMapper, type ObjectParts, type QName } from './kind.js';

export interface ColumnSpec {
  readonly name: string;
  /** format_type() output, e.g. `integer`, `public.mpaa_rating` */
  readonly type: string;
  readonly collation: QName | null;
  /** the stored generated expression */
  readonly generated: string | null;
  /** GENERATED ... AS IDENTITY, with its sequence's name and options when the sequence was read */
  readonly identity: {
    readonly always: boolean;
    readonly sequence: (QName & { readonly options: string }) | null;
  } | null;
  readonly default: string | null;
  readonly notNull: boolean;
  /** false for a column that INHERITS or PARTITION OF brings */
  readonly local: boolean;
}

/** ALTER TABLE ONLY ... ALTER COLUMN that puts back a child's own default or NOT NULL where it differs from its parent's. */
export type ColumnFixup =
  | { readonly column: string; readonly set: 'default'; readonly expr: string }
  | { readonly column: string; readonly set: 'no default' | 'not null' };

/** Ordinary and partitioned tables and partitions, with columns, defaults, NOT NULL and inline CHECKs. */
export interface TableSpec {
  readonly unlogged: boolean;
  /** a partition: its parent and bound (null: DEFAULT) */
  readonly partitionOf: { readonly parent: QName; readonly bound: string | null } | null;
  readonly inherits: readonly QName[];
  /** in attnum order; a partition's in its parent's order (attached partitions may differ) */
  readonly columns: readonly ColumnSpec[];
  readonly checks: readonly { readonly name: string; readonly def: string }[];
  /** pg_get_partkeydef() of a partitioned table */
  readonly partitionBy: string | null;
  /** table access method, when not heap */
  readonly accessMethod: string | null;
  readonly reloptions: readonly string[] | null;
  readonly fixups: readonly ColumnFixup[];
  readonly replicaIdentity: 'NOTHING' | 'FULL' | null;
  /** RLS enabled by the statement that creates the table (security.rls: enable on an exposed schema); not compared */
  readonly enableRls: boolean;
}

const collate = (c: QName | null): string => (c ? ` COLLATE ${qualified(c.schema, c.name)}` : '');

/** One column as CREATE TABLE writes it (also its canonical text in the table's definition). */
export function columnSql(c: ColumnSpec): string {
  let s = `${quoteIdent(c.name)} ${c.type}${collate(c.collation)}`;
  if (c.generated !== null) s += ` GENERATED ALWAYS AS (${c.generated}) STORED`;
  else if (c.identity) {
    s += ` GENERATED ${c.identity.always ? 'ALWAYS' : 'BY DEFAULT'} AS IDENTITY`;
    const seq = c.identity.sequence;
    if (seq) s += ` (SEQUENCE NAME ${qualified(seq.schema, seq.name)} ${seq.options})`;
  } else if (c.default !== null) s += ` DEFAULT ${c.default}`;
  if (c.notNull) s += ' NOT NULL';
  return s;
}

function tail(t: TableSpec): string {
  return (
    (t.partitionBy ? ` PARTITION BY ${t.partitionBy}` : '') +
    (t.accessMethod ? ` USING ${quoteIdent(t.accessMethod)}` : '') +
    reloptionsSql(t.reloptions)
  );
}

function create(o: ObjectParts<TableSpec>): string[] {
  const t = o.spec;
  const q = qualified(schemaOf(o), o.name);
  const unlogged = t.unlogged ? 'UNLOGGED ' : '';
  const checks = t.checks.map((c) => `CONSTRAINT ${quoteIdent(c.name)} ${c.def}`);
  const out: string[] = [];
  if (t.partitionOf) {
    const body = checks.length > 0 ? ` (\n    ${checks.join(',\n    ')}\n)` : '';
    const parent = qualified(t.partitionOf.parent.schema, t.partitionOf.parent.name);
    out.push(
      `CREATE ${unlogged}TABLE ${q} PARTITION OF ${parent}${body}\n${t.partitionOf.bound ?? 'DEFAULT'}${tail(t)}`,
    );
  } else {
    const inherits =
      t.inherits.length > 0 ? ` INHERITS (${t.inherits.map((p) => qualified(p.schema, p.name)).join(', ')})` : '';
    const elements = [...t.columns.filter((c) => c.local).map(columnSql), ...checks];
    const body = elements.length > 0 ? `(\n    ${elements.join(',\n    ')}\n)` : '()';
    out.push(`CREATE ${unlogged}TABLE ${q} ${body}${inherits}${tail(t)}`);
  }
  for (const f of t.fixups) {
    const alter = `ALTER TABLE ONLY ${q} ALTER COLUMN ${quoteIdent(f.column)}`;
    out.push(
      f.set === 'default'
        ? `${alter} SET DEFAULT ${f.expr}`
        : f.set === 'no default'
          ? `${alter} DROP DEFAULT`
          : `${alter} SET NOT NULL`,
    );
  }
  if (t.replicaIdentity) out.push(`ALTER TABLE ONLY ${q} REPLICA IDENTITY ${t.replicaIdentity}`);
  if (t.enableRls) out.push(`ALTER TABLE ${q} ENABLE ROW LEVEL SECURITY`);
  return out;
}

function definition(o: ObjectParts<TableSpec>): string {
  const t = o.spec;
  const q = qualified(schemaOf(o), o.name);
  const unlogged = t.unlogged ? 'UNLOGGED ' : '';
  const lines: string[] = [];
  if (t.partitionOf) {
    lines.push(
      `CREATE ${unlogged}TABLE ${q} PARTITION OF ${qualified(t.partitionOf.parent.schema, t.partitionOf.parent.name)} ${t.partitionOf.bound ?? 'DEFAULT'}`,
    );
    for (const c of t.columns) lines.push(`  column ${columnSql(c)}`);
  } else {
    const inherits =
      t.inherits.length > 0 ? ` INHERITS (${t.inherits.map((p) => qualified(p.schema, p.name)).join(', ')})` : '';
    lines.push(`CREATE ${unlogged}TABLE ${q}${inherits}`);
    for (const c of t.columns) lines.push(`  column ${columnSql(c)}${c.local ? '' : ' (inherited)'}`);
  }
  for (const c of t.checks) lines.push(`  CONSTRAINT ${quoteIdent(c.name)} ${c.def}`);
  const rest = tail(t);
  if (rest) lines.push(` ${rest.trim()}`);
  if (t.replicaIdentity) lines.push(`  REPLICA IDENTITY ${t.replicaIdentity}`);
  return lines.join('\n');
}

function mapColumn(c: ColumnSpec, m: NameMapper): ColumnSpec {
  const type = m.expr(c.type);
  const collation = mapRef(m, c.collation);
  const generated = c.generated === null ? null : m.expr(c.generated);
  const seq = c.identity?.sequence ?? null;
  const identity = c.identity
    ? { always: c.identity.always, sequence: seq ? { ...seq, schema: m.ref(seq.schema, seq.name) } : null }
    : null;
  const dflt = c.default === null ? null : m.expr(c.default);
  return { ...c, type, collation, generated, identity, default: dflt };
}

/** In the order CREATE TABLE names them, so that the recorded rewrites read in statement order. */
function mapSpec(t: TableSpec, m: NameMapper): TableSpec {
  if (t.partitionOf) {
    const parent = mapRef(m, t.partitionOf.parent);
    const checks = t.checks.map((c) => ({ ...c, def: m.expr(c.def) }));
    const bound = t.partitionOf.bound === null ? null : m.expr(t.partitionOf.bound);
    const partitionBy = t.partitionBy === null ? null : m.expr(t.partitionBy);
    const fixups = t.fixups.map((f) => (f.set === 'default' ? { ...f, expr: m.expr(f.expr) } : f));
    // a partition's columns are only compared (PARTITION OF brings them)
    return {
      ...t,
      partitionOf: { parent, bound },
      columns: t.columns.map((c) => mapColumn(c, m.quiet)),
      checks,
      partitionBy,
      fixups,
    };
  }
  const columns = t.columns.map((c) => (c.local ? mapColumn(c, m) : c));
  const checks = t.checks.map((c) => ({ ...c, def: m.expr(c.def) }));
  const inherits = t.inherits.map((p) => mapRef(m, p));
  const partitionBy = t.partitionBy === null ? null : m.expr(t.partitionBy);
  const fixups = t.fixups.map((f) => (f.set === 'default' ? { ...f, expr: m.expr(f.expr) } : f));
  return {
    ...t,
    columns: columns.map((c) => (c.local ? c : mapColumn(c, m.quiet))),
    checks,
    inherits,
    partitionBy,
    fixups,
  };
}

export const tableKind: KindModule<TableSpec> = {
  phase: 'pre-data',
  create,
  definition,
  drop: (o) => [`DROP TABLE IF EXISTS ${qualified(schemaOf(o), o.name)}`],
  map: (o, m) => {
    if (o.schema !== null) m.ref(o.schema, o.name);
    return mapPlace(o, m, mapSpec(o.spec, m));
  },
  owns: (o) =>
    o.spec.columns.flatMap((c) =>
      c.local && c.identity?.sequence ? [{ schema: c.identity.sequence.schema, name: c.identity.sequence.name }] : [],
    ),
};

/**
 * The statements that bring the target's table to the source's when the source only gained columns at the end (the
 * DDL a live source most often sees while a change stream runs): `ALTER TABLE ... ADD COLUMN`, one per column, or
 * null when anything else differs. Plain tables only: a partitioned or inheritance parent passes its new columns to
 * its children, which would then differ too.
 */
export function addedColumnsSql(source: ObjectParts<TableSpec>, target: ObjectParts<TableSpec>): string[] | null {
  const s = source.spec;
  const t = target.spec;
  if (s.partitionOf || t.partitionOf || s.partitionBy || t.partitionBy || s.inherits.length || t.inherits.length)
    return null;
  if (s.columns.length <= t.columns.length) return null;
  const same = (a: ColumnSpec, b: ColumnSpec): boolean => columnSql(a) === columnSql(b) && a.local === b.local;
  if (!t.columns.every((c, i) => same(c, s.columns[i] as ColumnSpec))) return null;
  if (definition({ ...target, spec: { ...t, columns: s.columns } }) !== definition(source)) return null;
  const q = qualified(schemaOf(target), target.name);
  return s.columns.slice(t.columns.length).map((c) => `ALTER TABLE ONLY ${q} ADD COLUMN ${columnSql(c)}`);
}
