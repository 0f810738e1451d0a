/**
 * Cutover and rollback through schemas.map (issue 11, item 5), on the Supabase-like target: a source schema named
 * `auth` lands as `app_auth`; the catch-up and final sync carry the source's writes into app_auth.* and the
 * rollback carries the application's writes on the target back into the source's auth.*, while the target's own
 * Supabase tables in `auth` are never read or written (compared before and after).
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runCli } from '../e2e/cli.js';
import { tableChecksums, type TableChecksum } from '../support/compare.js';
import { configDir } from '../support/config.js';
import {
  createDatabase,
  dropDatabase,
  testServers,
  uniqueDatabaseName,
  withDatabase,
  withPg,
} from '../support/databases.js';
import {
  freshSupabaseDatabase,
  stopSupabaseLike,
  supabaseLikeUnavailable,
  type SupabaseDatabase,
} from '../support/supabase.js';

const unavailable = supabaseLikeUnavailable();
if (unavailable) console.warn(`cutover-mapped: ${unavailable}: these tests are skipped`);

const cfg = configDir('cutover-mapped');
afterAll(async () => {
  cfg.remove();
  await stopSupabaseLike();
});

const SOURCE_SQL = `
CREATE SCHEMA auth;
CREATE TABLE auth.users (id bigserial PRIMARY KEY, email text NOT NULL UNIQUE, note text);
CREATE TABLE public.sessions (id bigint PRIMARY KEY, user_id bigint NOT NULL REFERENCES auth.users (id), token text);
CREATE TABLE auth.events (kind text, at int);
INSERT INTO auth.users (email) SELECT 'u' || g || '@example.org' FROM generate_series(1, 200) g;
INSERT INTO public.sessions SELECT g, 1 + g % 200, 't' || g FROM generate_series(1, 400) g;
INSERT INTO auth.events SELECT 'login', g % 10 FROM generate_series(1, 100) g;
`;

/** The migrated tables of a side, named as the source names them (app_auth. read as auth.). */
async function migrated(url: string, side: 'source' | 'target'): Promise<TableChecksum[]> {
  const all = await tableChecksums(url);
  const ours =
    side === 'source'
      ? all.filter((t) => t.table.startsWith('auth.') || t.table === 'public.sessions')
      : all.filter((t) => t.table.startsWith('app_auth.') || t.table === 'public.sessions');
  return ours
    .map((t) => ({ ...t, table: t.table.replace(/^app_auth\./, 'auth.') }))
    .sort((a, b) => (a.table < b.table ? -1 : 1));
}

/** The target's own tables in the Supabase schemas (auth, storage, ...): what pgshift must never touch. */
async function supabaseOwn(adminUrl: string): Promise<TableChecksum[]> {
  return (await tableChecksums(adminUrl)).filter((t) => /^(auth|storage|realtime|vault|extensions)\./.test(t.table));
}

describe.runIf(unavailable === null)('schemas.map through cutover and rollback', () => {
  it('syncs auth -> app_auth both ways; the target own auth tables stay as they were', async () => {
    const admin = testServers().source.adminUrl;
    const srcName = uniqueDatabaseName('mapped_src');
    await createDatabase(admin, srcName);
    const srcUrl = withDatabase(admin, srcName);
    let tgt: SupabaseDatabase | undefined;
    try {
      tgt = await freshSupabaseDatabase('mapped_tgt');
      await withPg(srcUrl, (c) => c.query(SOURCE_SQL));
      const envFile = join(cfg.dir, 'app.env');
      writeFileSync(envFile, `DATABASE_URL=${srcUrl}\n`);
      const file = cfg.write(
        `version: 1
name: mapped
source:
  url: \${SOURCE_DATABASE_URL}
target:
  url: \${TARGET_DATABASE_URL}
  provider: supabase
schemas:
  map: { auth: app_auth }
verify: { checksums: full }
cutover:
  max_write_freeze: 60s
  switch:
    env_file: ${envFile}
    variable: DATABASE_URL
    value: \${TARGET_DATABASE_URL}
`,
        'mapped.yaml',
      );
      const env = { SOURCE_DATABASE_URL: srcUrl, TARGET_DATABASE_URL: tgt.url };
      const ownBefore = await supabaseOwn(tgt.adminUrl);
      expect(ownBefore.map((t) => t.table)).toContain('auth.users');

      const applied = runCli(['apply', '-c', file, '--auto-approve'], env);
      expect(applied.status, applied.stdout + applied.stderr).toBe(0);

      // the live source changes after the copy, in the mapped schema and next to it
      await withPg(srcUrl, (c) =>
        c.query(`INSERT INTO auth.users (email) VALUES ('late@example.org');
                 UPDATE auth.users SET note = 'changed' WHERE id % 17 = 0;
                 DELETE FROM public.sessions WHERE user_id = 5; DELETE FROM auth.users WHERE id = 5;
                 INSERT INTO public.sessions VALUES (1000, currval('auth.users_id_seq'), 'late');
                 INSERT INTO auth.events VALUES ('late', -1), ('late', -1); DELETE FROM auth.events WHERE at = 3;`),
      );
      const cut = runCli(['cutover', '-c', file, '--auto-approve'], env);
      expect(cut.status, cut.stdout + cut.stderr).toBe(0);
      expect(await migrated(tgt.adminUrl, 'target')).toEqual(await migrated(srcUrl, 'source'));
      const seq = async (url: string, schema: string): Promise<unknown> =>
        withPg(url, async (c) => (await c.query(`SELECT last_value, is_called FROM ${schema}.users_id_seq`)).rows[0]);
      expect(await seq(tgt.adminUrl, 'app_auth')).toEqual(await seq(srcUrl, 'auth'));
      expect(await supabaseOwn(tgt.adminUrl)).toEqual(ownBefore);

      // the application now writes to the target, then the release is rolled back
      await withPg(tgt.url, (c) =>
        c.query(`INSERT INTO app_auth.users (email) VALUES ('on-target@example.org');
                 UPDATE app_auth.users SET note = 'edited on the target' WHERE id = 1;
                 DELETE FROM public.sessions WHERE id = 2;
                 INSERT INTO app_auth.events VALUES ('on target', 42);`),
      );
      const back = runCli(['rollback', '-c', file, '--auto-approve'], env);
      expect(back.status, back.stdout + back.stderr).toBe(0);
      expect(await migrated(srcUrl, 'source')).toEqual(await migrated(tgt.adminUrl, 'target'));
      const onSource = await withPg(
        srcUrl,
        async (c) =>
          (await c.query<{ n: string }>(`SELECT count(*) AS n FROM auth.users WHERE email = 'on-target@example.org'`))
            .rows[0]?.n,
      );
      expect(onSource).toBe('1');
      expect(await seq(srcUrl, 'auth')).toEqual(await seq(tgt.adminUrl, 'app_auth'));
      expect(await supabaseOwn(tgt.adminUrl)).toEqual(ownBefore);
    } finally {
      await tgt?.drop();
      await dropDatabase(admin, srcName);
    }
  });
});
