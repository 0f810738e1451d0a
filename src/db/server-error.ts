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
  P0001: 'an exception raised by a trigger or function',
  P0004: 'an assertion of a trigger or function failed',
};

/**
 * Classes whose messages the server writes itself about objects, never from row values: connections, features,
 * transaction state, authorization, catalog and schema names, rollbacks, syntax and access rules, resources,
 * limits, prerequisites, operator intervention, system and internal errors.
 */
const OBJECT_MESSAGE_CLASSES = new Set([
  '08',
  '0A',
  '25',
  '28',
  '3D',
  '3F',
  '40',
  '42',
  '53',
  '54',
  '55',
  '57',
  '58',
  'F0',
  'XX',
]);

/**
 * A server error without any value in it. Data errors (classes 22 and 23) quote the offending value in their
 * message, and a trigger's or function's own message (RAISE, class P0; routine errors, 38/39/2F) can say anything,
 * a patient's MRN included: those are described from pg's structured fields (constraint, table, column, type), which
 * never hold values. Only messages of classes the server writes about objects are kept (OBJECT_MESSAGE_CLASSES).
 */
export function describeServerError(err: unknown): string {
  const e = err as {
    code?: string;
    message?: string;
    constraint?: string;
    table?: string;
    column?: string;
    dataType?: string;
    schema?: string;
    where?: string;
  };
  const code = e.code ?? '?????';
  if (OBJECT_MESSAGE_CLASSES.has(code.slice(0, 2)))
    return `${maskServerValues(e.message ?? 'failed')} (SQLSTATE ${code})`;
  const generic = code.startsWith('23')
    ? 'integrity constraint violation'
    : code.startsWith('22')
      ? 'data exception'
      : 'an error whose message is not kept (it may quote row values)';
  const parts = [WORDS[code] ?? generic];
  if (e.constraint) parts.push(`constraint "${e.constraint}"`);
  if (e.table) parts.push(`table "${e.schema ? `${e.schema}.` : ''}${e.table}"`);
  if (e.column) parts.push(`column "${e.column}"`);
  if (e.dataType) parts.push(`type ${e.dataType}`);
  // the routine that raised it, by name and line (its context's other lines may quote the row)
  const routine = /^PL\/pgSQL function ([^\s"]+|"(?:[^"]|"")+"(?:\.[^\s"(]+)?)\(([^)]*)\) line (\d+)/.exec(
    e.where ?? '',
  );
  if (routine && /^(P0|2F|38|39)/.test(code)) parts.push(`in function ${routine[1]}(${routine[2]}) line ${routine[3]}`);
  return `${parts.join(', ')} (SQLSTATE ${code})`;
}

/**
 * The value-quoting forms of PostgreSQL's messages (`Key (mrn)=(MRN-1)`, `Failing row contains (...)`, a value in
 * an input-syntax error), masked: the last line of defence for every error text pgshift keeps in its state.
 */
export function maskServerValues(text: string): string {
  return text
    .replace(/\bKey \(([^)]*)\)=\((?:[^()]|\([^()]*\))*\)/g, 'Key ($1)=(***)')
    .replace(/\bFailing row contains \((?:[^()]|\([^()]*\))*\)/g, 'Failing row contains (***)')
    .replace(
      /\b((?:invalid input (?:syntax|value) for [^:"]+|out of range(?: for type [^:"]+)?): )"(?:[^"]|"")*"/g,
      '$1"***"',
    );
}
