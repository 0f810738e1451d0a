import { quoteIdent } from '../../src/db/ident.js';

/**
 * A generated schema of `n` tables (each with a serial key, a check, an index, a foreign key to the previous table
 * and a trigger), a view per ten tables, and one trigger function: enough DDL for an apply to take seconds.
 */
export function manyTablesSql(n: number, schema = 'many'): string {
  const s = quoteIdent(schema);
  const out = [
    `CREATE SCHEMA ${s};`,
    `CREATE FUNCTION ${s}.touch() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN NEW.updated_at := now(); RETURN NEW; END $$;`,
  ];
  for (let i = 1; i <= n; i++) {
    const t = `${s}.${quoteIdent(`t${i}`)}`;
    out.push(
      `CREATE TABLE ${t} (id serial PRIMARY KEY, name text NOT NULL CHECK (name <> ''), ref integer, updated_at timestamptz DEFAULT now());`,
      `CREATE INDEX ${quoteIdent(`t${i}_name_idx`)} ON ${t} (name);`,
      `CREATE TRIGGER ${quoteIdent(`t${i}_touch`)} BEFORE UPDATE ON ${t} FOR EACH ROW EXECUTE FUNCTION ${s}.touch();`,
    );
    if (i > 1)
      out.push(
        `ALTER TABLE ${t} ADD CONSTRAINT ${quoteIdent(`t${i}_ref_fk`)} FOREIGN KEY (ref) REFERENCES ${s}.${quoteIdent(`t${i - 1}`)} (id);`,
      );
    if (i % 10 === 0)
      out.push(`CREATE VIEW ${s}.${quoteIdent(`v${i}`)} AS SELECT id, name FROM ${t} WHERE name LIKE 'a%';`);
  }
  return out.join('\n');
}
