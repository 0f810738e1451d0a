import { positionDefinition, setvalSql, type SequencePosition } from '../sequence-value.js';
import { mapPlace, schemaOf, type KindModule } from './kind.js';

/** setval() from the source: last_value (bigint as text) and is_called of the sequence the object names. */
export type SequenceValueSpec = SequencePosition;

export const sequenceValueKind: KindModule<SequenceValueSpec> = {
  phase: 'post-data',
  create: (o) => [setvalSql({ schema: schemaOf(o), name: o.name }, o.spec)],
  definition: (o) => positionDefinition(o.spec),
  drop: () => [],
  // the sequence is named in a literal: nothing to record
  map: (o, m) => mapPlace(o, m),
};
