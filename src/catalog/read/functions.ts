import { address } from '../address.js';
import type { AggregateSpec } from '../kinds/function.js';
import type { AclItem } from '../types.js';
import { aclOf, aclSql, rows, type ReadContext } from './context.js';

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
  acl: AclItem[] | null;
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
  language: string | null;
  /** the value of a `search_path=...` entry of proconfig */
  search_path: string | null;
}

/** A GUC list value as the server stores it (`"$user", public`): its elements, double quotes undone. */
export function splitSettingList(value: string): string[] {
  const out: string[] = [];
  let i = 0;
  while (i < value.length) {
    while (value[i] === ' ' || value[i] === ',') i++;
    if (i >= value.length) break;
    let item = '';
    if (value[i] === '"') {
      i++;
      while (i < value.length) {
        if (value[i] === '"' && value[i + 1] === '"') {
          item += '"';
          i += 2;
        } else if (value[i] === '"') {
          i++;
          break;
        } else item += value[i++];
      }
      while (i < value.length && value[i] !== ',') i++;
    } else {
      while (i < value.length && value[i] !== ',') item += value[i++];
      item = item.trim();
    }
    out.push(item);
  }
  return out;
}

function aggregateSpec(f: FunctionRow): AggregateSpec {
  return {
    args: f.agg_args ?? '',
    aggkind: f.aggkind ?? 'n',
    transfn: f.transfn,
    stype: f.stype ?? '',
    sspace: f.sspace,
    finalfn: f.finalfn,
    finalExtra: f.aggfinalextra === true,
    finalModify: f.aggfinalmodify,
    combinefn: f.combinefn,
    serialfn: f.serialfn,
    deserialfn: f.deserialfn,
    initcond: f.initcond,
    mtransfn: f.mtransfn,
    minvtransfn: f.minvtransfn,
    mstype: f.mstype,
    msspace: f.msspace,
    mfinalfn: f.mfinalfn,
    mfinalExtra: f.aggmfinalextra === true,
    mfinalModify: f.aggmfinalmodify,
    minitcond: f.minitcond,
    sortop: f.sortop,
    parallel: f.proparallel,
  };
}

function procRef(col: string): string {
  return `(SELECT pg_catalog.json_build_object('schema', fn.nspname, 'name', fp.proname)
             FROM pg_catalog.pg_proc fp JOIN pg_catalog.pg_namespace fn ON fn.oid = fp.pronamespace
            WHERE fp.oid = a.${col})`;
}

/** Functions and procedures (pg_get_functiondef) and aggregates (built from pg_aggregate). */
export async function readFunctions(ctx: ReadContext): Promise<void> {
  const list = await rows<FunctionRow>(
    ctx,
    `SELECT p.oid, n.nspname, p.proname, p.prokind,
            pg_catalog.oidvectortypes(p.proargtypes) AS argtypes,
            pg_catalog.pg_get_function_identity_arguments(p.oid) AS identity_args,
            CASE WHEN p.prokind <> 'a' THEN pg_catalog.pg_get_functiondef(p.oid) END AS def,
            pg_catalog.pg_get_userbyid(p.proowner) AS owner, ${aclSql('p.proacl')} AS acl,
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
            p.proparallel,
            (SELECT l.lanname::pg_catalog.text FROM pg_catalog.pg_language l WHERE l.oid = p.prolang) AS language,
            (SELECT pg_catalog.substr(c, 13) FROM pg_catalog.unnest(p.proconfig) c WHERE c LIKE 'search\\_path=%' LIMIT 1) AS search_path
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
    const routine = f.prokind === 'a' ? 'aggregate' : f.prokind === 'p' ? 'procedure' : 'function';
    ctx.b.add({
      kind: 'function',
      spec: {
        routine,
        argTypes: f.argtypes,
        identityArgs: f.identity_args,
        language: f.language === null ? null : f.language.toLowerCase(),
        searchPath: f.search_path === null ? null : splitSettingList(f.search_path),
        body: f.prokind === 'a' ? null : (f.def ?? '').trimEnd(),
        aggregate: f.prokind === 'a' ? aggregateSpec(f) : null,
      },
      address: addr,
      schema: f.nspname,
      name: f.proname,
      deps: [address.schema(f.nspname)],
      owner: f.owner,
      acl: aclOf(f.acl),
    });
    ctx.b.own('pg_proc', f.oid, addr);
    const on = {
      on: routine === 'aggregate' ? 'AGGREGATE' : routine === 'procedure' ? 'PROCEDURE' : 'FUNCTION',
      object: { schema: f.nspname, name: f.proname },
      args: f.identity_args,
    } as const;
    ctx.b.commentable('pg_proc', f.oid, { target: addr, on, dependsOn: addr, schema: f.nspname, table: null });
  }
}
