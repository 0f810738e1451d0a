import { qualified } from '../../db/ident.js';
import { mapPlace, schemaOf, type KindModule } from './kind.js';

/** The options of a sequence, as pg_sequence holds them (numbers as text). */
export interface SequenceOptions {
  readonly start: string;
  readonly increment: string;
  readonly min: string;
  readonly max: string;
  readonly cache: string;
  readonly cycle: boolean;
}

export interface SequenceSpec extends SequenceOptions {
  readonly unlogged: boolean;
  /** format_type() of the sequence's type, e.g. `bigint` */
  readonly type: string;
}

export function sequenceOptions(s: SequenceOptions): string {
  return `START WITH ${s.start} INCREMENT BY ${s.increment} MINVALUE ${s.min} MAXVALUE ${s.max} CACHE ${s.cache}${s.cycle ? ' CYCLE' : ' NO CYCLE'}`;
}

const create = (o: { schema: string | null; name: string; spec: SequenceSpec }): string =>
  `CREATE ${o.spec.unlogged ? 'UNLOGGED ' : ''}SEQUENCE ${qualified(schemaOf(o), o.name)} AS ${o.spec.type} ${sequenceOptions(o.spec)}`;

export const sequenceKind: KindModule<SequenceSpec> = {
  phase: 'pre-data',
  create: (o) => [create(o)],
  definition: create,
  drop: (o) => [`DROP SEQUENCE IF EXISTS ${qualified(schemaOf(o), o.name)}`],
  map: (o, m) => {
    if (o.schema !== null) m.ref(o.schema, o.name);
    return mapPlace(o, m, { ...o.spec, type: m.expr(o.spec.type) });
  },
};
