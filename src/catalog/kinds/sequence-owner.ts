import { qualified, quoteIdent } from '../../db/ident.js';
import { mapPlace, schemaOf, tableOf, type KindModule } from './kind.js';

/** ALTER SEQUENCE ... OWNED BY the column `column` of the object's table (after the tables). */
export interface SequenceOwnerSpec {
  readonly column: string;
}

const create = (o: Parameters<KindModule<SequenceOwnerSpec>['create']>[0]): string => {
  const t = tableOf(o);
  return `ALTER SEQUENCE ${qualified(schemaOf(o), o.name)} OWNED BY ${qualified(t.schema, t.name)}.${quoteIdent(o.spec.column)}`;
};

export const sequenceOwnerKind: KindModule<SequenceOwnerSpec> = {
  phase: 'post-data',
  create: (o) => [create(o)],
  definition: create,
  drop: (o) => [`ALTER SEQUENCE IF EXISTS ${qualified(schemaOf(o), o.name)} OWNED BY NONE`],
  map: (o, m) => {
    if (o.schema !== null) m.ref(o.schema, o.name);
    if (o.table) m.ref(o.table.schema, o.table.name);
    return mapPlace(o, m);
  },
};
