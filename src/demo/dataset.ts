/**
 * A small clinic for the demo: patients (jsonb, text, a date of birth), encounters (an enum, text[], a foreign
 * key), observations (a composite key) and an audit log without a primary key (bytea). Deterministic.
 */
export function clinicSql(patients: number): string {
  return `
CREATE TYPE encounter_status AS ENUM ('scheduled', 'in-progress', 'finished', 'cancelled');
CREATE TABLE patients (
  id bigint PRIMARY KEY,
  mrn text NOT NULL UNIQUE,
  full_name text NOT NULL,
  born date NOT NULL,
  profile jsonb NOT NULL DEFAULT '{}',
  updated_at timestamptz NOT NULL DEFAULT now()
);
INSERT INTO patients (id, mrn, full_name, born, profile, updated_at)
SELECT i, 'MRN-' || lpad(i::text, 7, '0'), 'Patient ' || i, DATE '1940-01-01' + (i * 37 % 25000),
       jsonb_build_object('allergies', CASE WHEN i % 5 = 0 THEN jsonb_build_array('penicillin') ELSE '[]'::jsonb END, 'smoker', i % 7 = 0),
       TIMESTAMPTZ '2026-01-01 00:00:00+00' + (i || ' minutes')::interval
FROM generate_series(1, ${patients}) i;
CREATE TABLE encounters (
  id bigserial PRIMARY KEY,
  patient_id bigint NOT NULL REFERENCES patients (id),
  status encounter_status NOT NULL,
  codes text[] NOT NULL,
  note text,
  at timestamptz NOT NULL
);
INSERT INTO encounters (patient_id, status, codes, note, at)
SELECT 1 + i % ${patients}, (ARRAY['scheduled', 'in-progress', 'finished', 'cancelled']::encounter_status[])[1 + i % 4],
       ARRAY['ICD-' || (i % 90), 'CPT-' || (i % 40)], CASE WHEN i % 3 = 0 THEN NULL ELSE 'follow-up in ' || (i % 30) || E' days\\tok' END,
       TIMESTAMPTZ '2026-02-01 00:00:00+00' + (i || ' minutes')::interval
FROM generate_series(1, ${patients * 4}) i;
CREATE INDEX encounters_patient_idx ON encounters (patient_id);
CREATE TABLE observations (
  encounter_id bigint NOT NULL REFERENCES encounters (id),
  seq int NOT NULL,
  code text NOT NULL,
  value double precision,
  PRIMARY KEY (encounter_id, seq)
);
INSERT INTO observations SELECT e, s, 'LOINC-' || ((e + s) % 60), (e * s) % 1000 / 10.0 FROM generate_series(1, ${patients * 2}) e, generate_series(1, 3) s;
CREATE TABLE audit_log (at timestamptz NOT NULL, actor text NOT NULL, action text NOT NULL, payload bytea);
INSERT INTO audit_log SELECT TIMESTAMPTZ '2026-03-01 00:00:00+00' + ((i % 600) || ' seconds')::interval, 'user' || (i % 9), 'read', decode(md5(i::text), 'hex')
FROM generate_series(1, ${patients}) i;
CREATE VIEW recent_encounters AS SELECT e.id, e.patient_id, e.status, e.at FROM encounters e WHERE e.at > TIMESTAMPTZ '2026-02-10 00:00:00+00';
COMMENT ON TABLE patients IS 'demo patients (generated, not real people)';
ANALYZE;
`;
}
