import { address } from '../address.js';
import { qualified, quoteIdent, quoteLiteral } from '../../db/ident.js';
import { aclOf, rows, type ReadContext } from './context.js';

interface QName {
  schema: string;
  name: string;
}

interface FunctionRow {
  oid: number;
  nspname: string;
  proname: string;
  prokind: 'f' | 'p' | 'a' | 'w';
  argtypes: string;
  identity_args: string;
  def: string | null;
  owner: string | null;
  acl: string[] | null;
  // aggregates only
  agg_args: string | null;
  aggkind: 'n' | 'o' | 'h' | null;
  transfn: QName | null;
  finalfn: QName | null;
  combinefn: QName | null;
  serialfn: QName | null;
  deserialfn: QName | null;
  mtransfn: QName | null;
  minvtransfn: QName | null;
  mfinalfn: QName | null;
  aggfinalextra: boolean | null;
  aggmfinalextra: boolean | null;
  aggfinalmodify: 'r' | 's' | 'w' | null;
  aggmfinalmodify: 'r' | 's' | 'w' | null;
  sortop: QName | null;
  stype: string | null;
  sspace: number | null;
  mstype: string | null;
  msspace: number | null;
  initcond: string | null;
  minitcond: string | null;
  proparallel: 's' | 'r' | 'u';
}

function procRef(col: string): string {
  return `(SELECT pg_catalog.json_build_object('schema', fn.nspname, 'name', fp.proname)
             FROM pg_catalog.pg_proc fp JOIN pg_catalog.pg_namespace fn ON fn.oid = fp.pronamespace
            WHERE fp.oid = a.${col})`;
}

const MODIFY: Record<string, string> = { r: 'READ_ONLY', s: 'SHAREABLE', w: 'READ_WRITE' };

/** CREATE AGGREGATE from pg_aggregate (pg_get_functiondef refuses aggregates). */
function createAggregate(f: FunctionRow): string {
  const fn = (n: QName): string => qualified(n.schema, n.name);
  const opts: string[] = [];
  if (f.transfn) opts.push(`SFUNC = ${fn(f.transfn)}`);
  opts.push(`STYPE = ${f.stype ?? ''}`);
  if (f.sspace) opts.push(`SSPACE = ${f.sspace}`);
  const defaultModify = f.aggkind === 'n' ? 'r' : 'w';
  if (f.finalfn) {
    opts.push(`FINALFUNC = ${fn(f.finalfn)}`);
    if (f.aggfinalextra) opts.push('FINALFUNC_EXTRA');
    if (f.aggfinalmodify && f.aggfinalmodify !== defaultModify) opts.push(`FINALFUNC_MODIFY = ${MODIFY[f.aggfinalmodify]}`);
  }
  if (f.combinefn) opts.push(`COMBINEFUNC = ${fn(f.combinefn)}`);
  if (f.serialfn) opts.push(`SERIALFUNC = ${fn(f.serialfn)}`);
  if (f.deserialfn) opts.push(`DESERIALFUNC = ${fn(f.deserialfn)}`);
  if (f.initcond !== null) opts.push(`INITCOND = ${quoteLiteral(f.initcond)}`);
  if (f.mtransfn) {
    opts.push(`MSFUNC = ${fn(f.mtransfn)}`);
    if (f.minvtransfn) opts.push(`MINVFUNC = ${fn(f.minvtransfn)}`);
    opts.push(`MSTYPE = ${f.mstype ?? ''}`);
    if (f.msspace) opts.push(`MSSPACE = ${f.msspace}`);
    if (f.mfinalfn) {
      opts.push(`MFINALFUNC = ${fn(f.mfinalfn)}`);
      if (f.aggmfinalextra) opts.push('MFINALFUNC_EXTRA');
      if (f.aggmfinalmodify && f.aggmfinalmodify !== defaultModify) opts.push(`MFINALFUNC_MODIFY = ${MODIFY[f.aggmfinalmodify]}`);
    }
    if (f.minitcond !== null) opts.push(`MINITCOND = ${quoteLiteral(f.minitcond)}`);
  }
  if (f.sortop) opts.push(`SORTOP = OPERATOR(${quoteIdent(f.sortop.schema)}.${f.sortop.name})`);
  if (f.proparallel === 's') opts.push('PARALLEL = SAFE');
  if (f.proparallel === 'r') opts.push('PARALLEL = RESTRICTED');
  if (f.aggkind === 'h') opts.push('HYPOTHETICAL');
  return `CREATE AGGREGATE ${qualified(f.nspname, f.proname)}(${f.agg_args ?? ''}) (\n    ${opts.join(',\n    ')}\n)`;
}

/** Functions and procedures (pg_get_functiondef) and aggregates (built from pg_aggregate). */
export async function readFunctions(ctx: ReadContext): Promise<void> {
  const list = await rows<FunctionRow>(
    ctx,
    `SELECT p.oid, n.nspname, p.proname, p.prokind,
            pg_catalog.oidvectortypes(p.proargtypes) AS argtypes,
            pg_catalog.pg_get_function_identity_arguments(p.oid) AS identity_args,
            CASE WHEN p.prokind <> 'a' THEN pg_catalog.pg_get_functiondef(p.oid) END AS def,
            pg_catalog.pg_get_userbyid(p.proowner) AS owner, p.proacl::pg_catalog.text[] AS acl,
            CASE WHEN p.prokind = 'a' THEN pg_catalog.pg_get_function_arguments(p.oid) END AS agg_args,
            a.aggkind,
            ${procRef('aggtransfn')} AS transfn, ${procRef('aggfinalfn')} AS finalfn, ${procRef('aggcombinefn')} AS combinefn,
            ${procRef('aggserialfn')} AS serialfn, ${procRef('aggdeserialfn')} AS deserialfn,
            ${procRef('aggmtransfn')} AS mtransfn, ${procRef('aggminvtransfn')} AS minvtransfn, ${procRef('aggmfinalfn')} AS mfinalfn,
            a.aggfinalextra, a.aggmfinalextra, a.aggfinalmodify, a.aggmfinalmodify,
            (SELECT pg_catalog.json_build_object('schema', opn.nspname, 'name', op.oprname)
               FROM pg_catalog.pg_operator op JOIN pg_catalog.pg_namespace opn ON opn.oid = op.oprnamespace
              WHERE op.oid = a.aggsortop) AS sortop,
            pg_catalog.format_type(a.aggtranstype, NULL) AS stype, a.aggtransspace AS sspace,
            CASE WHEN a.aggmtranstype <> 0 THEN pg_catalog.format_type(a.aggmtranstype, NULL) END AS mstype, a.aggmtransspace AS msspace,
            a.agginitval AS initcond, a.aggminitval AS minitcond,
            p.proparallel
       FROM pg_catalog.pg_proc p
       JOIN pg_catalog.pg_namespace n ON n.oid = p.pronamespace
       LEFT JOIN pg_catalog.pg_aggregate a ON a.aggfnoid = p.oid
      WHERE p.pronamespace = ANY ($1::pg_catalog.oid[])
        -- not the constructors a range type creates for itself (they come with CREATE TYPE)
        AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_depend d
                         WHERE d.classid = 'pg_catalog.pg_proc'::pg_catalog.regclass AND d.objid = p.oid AND d.deptype = 'i')`,
    [ctx.nsOids],
  );
  for (const f of list) {
    if (ctx.b.isMember('pg_proc', f.oid)) continue;
    const addr = address.function(f.nspname, f.proname, f.argtypes);
    const sql = f.prokind === 'a' ? createAggregate(f) : (f.def ?? '').replace(/\s+$/, '');
    ctx.b.add({
      kind: 'function',
      address: addr,
      schema: f.nspname,
      name: f.proname,
      createSql: [sql],
      definition: sql,
      deps: [address.schema(f.nspname)],
      owner: f.owner,
      acl: aclOf(f.acl),
    });
    ctx.b.own('pg_proc', f.oid, addr);
    const keyword = f.prokind === 'a' ? 'AGGREGATE' : f.prokind === 'p' ? 'PROCEDURE' : 'FUNCTION';
    const on = `${keyword} ${qualified(f.nspname, f.proname)}(${f.identity_args})`;
    ctx.b.commentable('pg_proc', f.oid, { target: addr, on, dependsOn: addr, schema: f.nspname, table: null });
  }
}
