import { quoteIdent } from '../../src/db/ident.js';

/**
 * A multi-table dataset for copy tests: keyed and keyless tables (duplicate rows included), a composite key,
 * a partitioned table, bytea, jsonb, arrays, NULLs, unicode, backslashes and tabs in text, NaN/Infinity and -0.
 * Deterministic (no random()) so every run moves the same bytes.
 */
export function copyDatasetSql(rows: number, schema = 'data'): string {
  const s = quoteIdent(schema);
  return `
CREATE SCHEMA ${s};
CREATE TYPE ${s}.visit_kind AS ENUM ('intake', 'follow-up', 'discharge');
CREATE TABLE ${s}.patients (
  id bigint PRIMARY KEY, name text NOT NULL, notes text, born date, profile jsonb, tags text[], photo bytea,
  weight float8, ratio real, balance numeric(12,2), kind ${s}.visit_kind, seen timestamptz
);
INSERT INTO ${s}.patients
SELECT i,
       'Pätiënt ' || i || CASE WHEN i % 7 = 0 THEN E' tab\\there' ELSE '' END,
       CASE WHEN i % 5 = 0 THEN NULL WHEN i % 5 = 1 THEN E'back\\\\slash and\\nnewline' ELSE 'note ✓ ' || i END,
       DATE '1950-01-01' + (i % 20000),
       jsonb_build_object('i', i, 'nested', jsonb_build_object('a', ARRAY[i, i + 1]), 'q', 'quote " and \\\\'),
       ARRAY['t' || (i % 3), NULL, 'ü'],
       CASE WHEN i % 4 = 0 THEN NULL ELSE decode(md5(i::text), 'hex') END,
       CASE i % 6 WHEN 0 THEN 'NaN'::float8 WHEN 1 THEN 'Infinity'::float8 WHEN 2 THEN '-Infinity'::float8 WHEN 3 THEN '-0'::float8 ELSE i / 3.0 END,
       (i % 1000) / 7.0,
       (i * 1.37)::numeric(12,2),
       (ARRAY['intake', 'follow-up', 'discharge']::${s}.visit_kind[])[1 + i % 3],
       TIMESTAMPTZ '2020-01-01 00:00:00+00' + (i || ' minutes')::interval
FROM generate_series(1, ${rows}) i;

CREATE TABLE ${s}.audit_log (at timestamptz, actor text, payload bytea, detail jsonb);
INSERT INTO ${s}.audit_log
SELECT TIMESTAMPTZ '2021-01-01 00:00:00+00' + ((i % 500) || ' seconds')::interval, 'user' || (i % 17),
       CASE WHEN i % 3 = 0 THEN NULL ELSE convert_to('payload ' || (i % 50), 'UTF8') END,
       CASE WHEN i % 2 = 0 THEN NULL ELSE jsonb_build_object('n', i % 50) END
FROM generate_series(1, ${Math.max(10, Math.floor(rows / 2))}) i;   -- many exact duplicate rows

CREATE TABLE ${s}.observations (patient_id bigint, seq int, code text, value float8, PRIMARY KEY (patient_id, seq));
INSERT INTO ${s}.observations SELECT 1 + i % ${Math.max(1, Math.floor(rows / 3))}, i, 'LOINC-' || (i % 97), i * 0.25 FROM generate_series(1, ${rows}) i;

CREATE TABLE ${s}.encounters (id int, at date NOT NULL, note text, PRIMARY KEY (id, at)) PARTITION BY RANGE (at);
CREATE TABLE ${s}.encounters_2022 PARTITION OF ${s}.encounters FOR VALUES FROM ('2022-01-01') TO ('2023-01-01');
CREATE TABLE ${s}.encounters_2023 PARTITION OF ${s}.encounters FOR VALUES FROM ('2023-01-01') TO ('2024-01-01');
CREATE TABLE ${s}.encounters_other PARTITION OF ${s}.encounters DEFAULT;
INSERT INTO ${s}.encounters SELECT i, DATE '2021-06-01' + (i % 1000), 'enc ' || i FROM generate_series(1, ${rows}) i;

CREATE TABLE ${s}.codes (code text PRIMARY KEY, label text);
INSERT INTO ${s}.codes SELECT 'c' || lpad(i::text, 6, '0'), 'label ' || i FROM generate_series(1, ${Math.max(10, Math.floor(rows / 4))}) i;
CREATE INDEX ON ${s}.patients (name);
ALTER TABLE ${s}.observations ADD FOREIGN KEY (patient_id) REFERENCES ${s}.patients (id);
ANALYZE;
`;
}
