import { qualified, quoteIdent, quoteLiteral } from '../../db/ident.js';
import { mapPlace, mapRef, schemaOf, type KindModule, type NameMapper, type ObjectParts, type QName } from './kind.js';

export interface AggregateSpec {
  /** pg_get_function_arguments() */
  readonly args: string;
  readonly aggkind: 'n' | 'o' | 'h';
  readonly transfn: QName | null;
  readonly stype: string;
  readonly sspace: number | null;
  readonly finalfn: QName | null;
  readonly finalExtra: boolean;
  readonly finalModify: 'r' | 's' | 'w' | null;
  readonly combinefn: QName | null;
  readonly serialfn: QName | null;
  readonly deserialfn: QName | null;
  readonly initcond: string | null;
  readonly mtransfn: QName | null;
  readonly minvtransfn: QName | null;
  readonly mstype: string | null;
  readonly msspace: number | null;
  readonly mfinalfn: QName | null;
  readonly mfinalExtra: boolean;
  readonly mfinalModify: 'r' | 's' | 'w' | null;
  readonly minitcond: string | null;
  readonly sortop: QName | null;
  readonly parallel: 's' | 'r' | 'u';
}

/** Functions and procedures (pg_get_functiondef) and aggregates (built from pg_aggregate). */
export interface FunctionSpec {
  readonly routine: 'function' | 'procedure' | 'aggregate';
  /** oidvectortypes() of the input arguments, e.g. `integer, text`: what the address and DROP name */
  readonly argTypes: string;
  /** pg_get_function_identity_arguments(), for COMMENT ON */
  readonly identityArgs: string;
  /** pg_language.lanname, lower case */
  readonly language: string | null;
  /** The search_path the routine pins (SET search_path in its definition), element by element; null when none. */
  readonly searchPath: readonly string[] | null;
  /** pg_get_functiondef() without trailing blanks (functions and procedures) */
  readonly body: string | null;
  readonly aggregate: AggregateSpec | null;
}

const MODIFY: Record<string, string> = { r: 'READ_ONLY', s: 'SHAREABLE', w: 'READ_WRITE' };

function createAggregate(schema: string, name: string, f: AggregateSpec): string {
  const fn = (n: QName): string => qualified(n.schema, n.name);
  const opts: string[] = [];
  if (f.transfn) opts.push(`SFUNC = ${fn(f.transfn)}`);
  opts.push(`STYPE = ${f.stype}`);
  if (f.sspace) opts.push(`SSPACE = ${f.sspace}`);
  const defaultModify = f.aggkind === 'n' ? 'r' : 'w';
  if (f.finalfn) {
    opts.push(`FINALFUNC = ${fn(f.finalfn)}`);
    if (f.finalExtra) opts.push('FINALFUNC_EXTRA');
    if (f.finalModify && f.finalModify !== defaultModify) opts.push(`FINALFUNC_MODIFY = ${MODIFY[f.finalModify]}`);
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
      if (f.mfinalExtra) opts.push('MFINALFUNC_EXTRA');
      if (f.mfinalModify && f.mfinalModify !== defaultModify)
        opts.push(`MFINALFUNC_MODIFY = ${MODIFY[f.mfinalModify]}`);
    }
    if (f.minitcond !== null) opts.push(`MINITCOND = ${quoteLiteral(f.minitcond)}`);
  }
  if (f.sortop) opts.push(`SORTOP = OPERATOR(${quoteIdent(f.sortop.schema)}.${f.sortop.name})`);
  if (f.parallel === 's') opts.push('PARALLEL = SAFE');
  if (f.parallel === 'r') opts.push('PARALLEL = RESTRICTED');
  if (f.aggkind === 'h') opts.push('HYPOTHETICAL');
  return `CREATE AGGREGATE ${qualified(schema, name)}(${f.args}) (\n    ${opts.join(',\n    ')}\n)`;
}

function mapAggregate(f: AggregateSpec, m: NameMapper): AggregateSpec {
  // in the order CREATE AGGREGATE names them
  const args = m.expr(f.args);
  const transfn = mapRef(m, f.transfn);
  const stype = m.expr(f.stype);
  const finalfn = mapRef(m, f.finalfn);
  const combinefn = mapRef(m, f.combinefn);
  const serialfn = mapRef(m, f.serialfn);
  const deserialfn = mapRef(m, f.deserialfn);
  const mtransfn = mapRef(m, f.mtransfn);
  const minvtransfn = mapRef(m, f.minvtransfn);
  const mstype = f.mstype === null ? null : m.expr(f.mstype);
  const mfinalfn = mapRef(m, f.mfinalfn);
  const sortop = mapRef(m, f.sortop);
  return {
    ...f,
    args,
    transfn,
    stype,
    finalfn,
    combinefn,
    serialfn,
    deserialfn,
    mtransfn,
    minvtransfn,
    mstype,
    mfinalfn,
    sortop,
  };
}

function create(o: ObjectParts<FunctionSpec>): string {
  const agg = o.spec.aggregate;
  return agg ? createAggregate(schemaOf(o), o.name, agg) : (o.spec.body ?? '');
}

/** `FUNCTION "s"."f"(integer)` (or PROCEDURE, AGGREGATE), as COMMENT ON names it. */
export function routineForComment(o: ObjectParts<FunctionSpec>): string {
  return `${o.spec.routine.toUpperCase()} ${qualified(schemaOf(o), o.name)}(${o.spec.identityArgs})`;
}

export const functionKind: KindModule<FunctionSpec> = {
  phase: 'pre-data',
  create: (o) => [create(o)],
  definition: create,
  drop: (o) => [`DROP ROUTINE IF EXISTS ${qualified(schemaOf(o), o.name)}(${o.spec.argTypes})`],
  map: (o, m) => {
    const s = o.spec;
    let spec: FunctionSpec;
    if (s.aggregate) {
      if (o.schema !== null) m.ref(o.schema, o.name);
      spec = { ...s, aggregate: mapAggregate(s.aggregate, m) };
    } else spec = { ...s, body: s.body === null ? null : m.expr(s.body) };
    return mapPlace(o, m, { ...spec, argTypes: m.quiet.expr(s.argTypes), identityArgs: m.quiet.expr(s.identityArgs) });
  },
};
