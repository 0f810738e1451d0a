import { qualified, quoteLiteral } from '../../db/ident.js';
import { mapPlace, type KindModule } from './kind.js';

/**
 * A collation created in a schema pgshift copies (CREATE COLLATION): a case-insensitive ICU collation for e-mail
 * addresses, a libc locale for a column sorted the local way. Columns, domains and indexes name it, so it comes
 * before them. Its version (collversion) is the target's own: the target's ICU or C library decides it.
 */
export interface CollationSpec {
  readonly provider: 'libc' | 'icu' | 'builtin';
  /** libc: LC_COLLATE and LC_CTYPE */
  readonly lcCollate: string | null;
  readonly lcCtype: string | null;
  /** icu and builtin: the locale */
  readonly locale: string | null;
  /** ICU tailoring rules (PostgreSQL 16+) */
  readonly rules: string | null;
  readonly deterministic: boolean;
}

const opt = (name: string, v: string | null): string[] => (v === null ? [] : [`${name} = ${quoteLiteral(v)}`]);

function options(s: CollationSpec): string {
  const parts = [
    `provider = ${s.provider}`,
    ...(s.provider === 'libc' ? [...opt('lc_collate', s.lcCollate), ...opt('lc_ctype', s.lcCtype)] : []),
    ...(s.provider === 'libc' ? [] : opt('locale', s.locale)),
    ...(s.provider === 'icu' ? opt('rules', s.rules) : []),
    ...(s.deterministic ? [] : ['deterministic = false']),
  ];
  return parts.join(', ');
}

const create = (schema: string | null, name: string, s: CollationSpec): string =>
  `CREATE COLLATION ${qualified(schema ?? '', name)} (${options(s)})`;

export const collationKind: KindModule<CollationSpec> = {
  phase: 'pre-data',
  create: (o) => [create(o.schema, o.name, o.spec)],
  definition: (o) => options(o.spec),
  drop: (o) => [`DROP COLLATION IF EXISTS ${qualified(o.schema ?? '', o.name)}`],
  map: (o, m) => mapPlace(o, m),
};
