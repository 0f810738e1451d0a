/**
 * A small clinic schema with the shapes a cutover must carry: a hostile schema name, bigserial and identity keys,
 * a stored generated column, a foreign key, a table without a key (duplicates allowed), a user trigger that
 * rewrites rows (held off by the sync), and the changes a live application makes after the copy.
 */
export const CLINIC_SQL = `
CREATE SCHEMA "Clinic ""One""";
CREATE TABLE "Clinic ""One""".patients (id bigserial PRIMARY KEY, name text NOT NULL, born date, notes text, updated_at timestamptz NOT NULL DEFAULT now());
CREATE TABLE "Clinic ""One""".visits (id int GENERATED ALWAYS AS IDENTITY PRIMARY KEY, patient_id bigint NOT NULL REFERENCES "Clinic ""One""".patients (id), at timestamptz NOT NULL, reason text, total numeric(10,2) GENERATED ALWAYS AS (0) STORED);
CREATE TABLE "Clinic ""One""".events (kind text, payload jsonb);
CREATE FUNCTION "Clinic ""One""".touch() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN NEW.updated_at := '2000-01-01'; RETURN NEW; END $$;
CREATE TRIGGER touch BEFORE UPDATE ON "Clinic ""One""".patients FOR EACH ROW EXECUTE FUNCTION "Clinic ""One""".touch();
INSERT INTO "Clinic ""One""".patients (name, born, notes) SELECT 'patient ' || g, DATE '1950-01-01' + g, CASE WHEN g % 3 = 0 THEN E'tab\\there\\nnew line \\\\ slash' END FROM generate_series(1, 3000) g;
INSERT INTO "Clinic ""One""".visits (patient_id, at, reason) SELECT 1 + g % 3000, TIMESTAMPTZ '2024-01-01' + g * interval '1 hour', 'r' || g FROM generate_series(1, 5000) g;
INSERT INTO "Clinic ""One""".events SELECT 'k' || (g % 7), jsonb_build_object('n', g) FROM generate_series(1, 500) g;
`;

/** Inserts, updates and deletes on the source after the copy (what a live application does). */
export const LIVE_CHANGES_SQL = `
INSERT INTO "Clinic ""One""".patients (name, born) SELECT 'late ' || g, DATE '2000-01-01' + g FROM generate_series(1, 50) g;
UPDATE "Clinic ""One""".patients SET notes = 'changed after the copy' WHERE id % 97 = 0;
INSERT INTO "Clinic ""One""".visits (patient_id, at, reason) SELECT id, now(), 'late visit' FROM "Clinic ""One""".patients WHERE name LIKE 'late %';
DELETE FROM "Clinic ""One""".visits WHERE id % 101 = 0;
DELETE FROM "Clinic ""One""".visits WHERE patient_id = 7;
DELETE FROM "Clinic ""One""".patients WHERE id = 7;
INSERT INTO "Clinic ""One""".events VALUES ('late', '{"n": -1}'), ('late', '{"n": -1}');
DELETE FROM "Clinic ""One""".events WHERE kind = 'k3';
`;
