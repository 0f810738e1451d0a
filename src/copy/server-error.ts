const WORDS: Record<string, string> = {
  '23505': 'unique violation',
  '23503': 'foreign key violation',
  '23502': 'not-null violation',
  '23514': 'check violation',
  '23P01': 'exclusion violation',
  '22P02': 'invalid input syntax',
  '22001': 'value too long for its type',
  '22003': 'numeric value out of range',
  '22007': 'invalid date/time format',
  '22008': 'date/time field out of range',
  '22021': 'invalid byte sequence for the encoding',
  '22P04': 'bad COPY file format',
  '22P03': 'invalid binary representation',
};

/**
 * A server error without any value in it: data errors (classes 22 and 23) quote the offending value in their
 * message, so they are described from pg's structured fields (constraint, table, column, type), which never hold
 * values. Other errors keep their message (it names objects, not data).
 */
export function describeServerError(err: unknown): string {
  const e = err as { code?: string; message?: string; constraint?: string; table?: string; column?: string; dataType?: string; schema?: string };
  const code = e.code ?? '?????';
  if (!/^(22|23)/.test(code)) return `${e.message ?? 'failed'} (SQLSTATE ${code})`;
  const parts = [WORDS[code] ?? (code.startsWith('23') ? 'integrity constraint violation' : 'data exception')];
  if (e.constraint) parts.push(`constraint "${e.constraint}"`);
  if (e.table) parts.push(`table "${e.schema ? `${e.schema}.` : ''}${e.table}"`);
  if (e.column) parts.push(`column "${e.column}"`);
  if (e.dataType) parts.push(`type ${e.dataType}`);
  return `${parts.join(', ')} (SQLSTATE ${code})`;
}
