/**
 * Output settings of both copy sessions, as pg_dump sets them: text-format values (dates, intervals, floats,
 * times) and key texts read back on another run must mean the same thing on both servers.
 */
export const COPY_SESSION_SQL = [
  "SET search_path = ''", // reg* values and type names render and resolve schema-qualified on both sides
  "SET DateStyle = 'ISO'",
  "SET IntervalStyle = 'postgres'",
  'SET extra_float_digits = 3',
  "SET TimeZone = 'UTC'",
  "SET client_encoding = 'UTF8'",
].join('; ');

/** The same for the rest of a transaction (SET LOCAL). */
export const COPY_LOCAL_SQL = COPY_SESSION_SQL.replace(/SET /g, 'SET LOCAL ');
