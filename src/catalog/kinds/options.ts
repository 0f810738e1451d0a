import { quoteIdent, quoteLiteral } from '../../db/ident.js';

/** ` WITH ("name"='value', ...)` from pg_class.reloptions (`name=value` strings), or '' when there are none. */
export function reloptionsSql(reloptions: readonly string[] | null | undefined): string {
  if (!reloptions || reloptions.length === 0) return '';
  const parts = reloptions.map((opt) => {
    const eq = opt.indexOf('=');
    const name = eq < 0 ? opt : opt.slice(0, eq);
    return eq < 0 ? quoteIdent(name) : `${quoteIdent(name)}=${quoteLiteral(opt.slice(eq + 1))}`;
  });
  return ` WITH (${parts.join(', ')})`;
}
