/**
 * What a session sets before it runs the createSql of catalog objects, as pg_dump's restore does:
 * - search_path '' : every name in the statements is schema-qualified, nothing may resolve through the path;
 * - check_function_bodies off : function bodies may name tables and functions created later;
 * - standard_conforming_strings on, DateStyle ISO, IntervalStyle postgres : how the deparsed literals were written;
 * - default_table_access_method heap, default_tablespace '' : tables come out as the statements say, nothing more;
 * - client_min_messages warning, xmloption content : as pg_dump.
 * Plain SET (session level, like pg_dump), so it also holds when run outside a transaction block; a connection used
 * for DDL keeps these settings afterwards.
 */
export const DDL_SESSION_SQL: string =
  [
    "SELECT pg_catalog.set_config('search_path', '', false)",
    'SET check_function_bodies = off',
    'SET standard_conforming_strings = on',
    "SET client_min_messages = 'warning'",
    "SET xmloption = 'content'",
    "SET datestyle = 'ISO, YMD'",
    "SET intervalstyle = 'postgres'",
    "SET default_table_access_method = 'heap'",
    "SET default_tablespace = ''",
  ].join(';\n') + ';';
