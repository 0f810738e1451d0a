import { qualified, quoteLiteral } from '../../db/ident.js';
import { mapPlace, schemaOf, type KindModule } from './kind.js';

/** setval() from the source: last_value and is_called of the sequence the object names. */
export interface SequenceValueSpec {
  /** last_value as text (bigint) */
  readonly last: string;
  readonly called: boolean;
}

export const sequenceValueKind: KindModule<SequenceValueSpec> = {
  phase: 'post-data',
  create: (o) => [`SELECT pg_catalog.setval(${quoteLiteral(qualified(schemaOf(o), o.name))}, ${o.spec.last}, ${o.spec.called ? 'true' : 'false'})`],
  definition: (o) => `last_value=${o.spec.last} is_called=${o.spec.called ? 't' : 'f'}`,
  drop: () => [],
  // the sequence is named in a literal: nothing to record
  map: (o, m) => mapPlace(o, m),
};
