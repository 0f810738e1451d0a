/**
 * Large objects at the cutover (logical decoding carries none of their changes, a rescan of tables does not see them):
 * objects created on the live source after the apply (one with an OID below every copied one), resized or unlinked
 * there, are carried by the catch-up before the freeze, and those written once the freeze began by the final sync
 * inside it (freeze strategy) or the sync after the stream's fence (stream strategy). The target then holds exactly
 * the source's objects, byte for byte. A rollback carries the objects written on the target since back to the
 * source, and a cutover after it finds them in place.
 */
import { execFileSync } from 'node:child_process';
import { afterAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/index.js';
import { runCutover } from '../../src/cutover/cutover.js';
import { REPO, runCli } from '../e2e/cli.js';
import { configDir, minimalConfig } from '../support/config.js';
import { freshDatabases, withPg, type FreshDatabases } from '../support/databases.js';

const cfg = configDir('large-objects-cutover');
afterAll(() => cfg.remove());

const SOURCE_SQL = `
  CREATE TABLE "doc files" (id int PRIMARY KEY, body oid NOT NULL);
  INSERT INTO "doc files"
    SELECT g, lo_from_bytea(0, convert_to(repeat('scanned referral ' || g || ' ', 40 + g), 'UTF8'))
      FROM generate_series(1, 30) g;`;

/** Every large object of a database: OID, size and md5 (test-side check). */
async function objects(url: string): Promise<Array<{ oid: string; size: string; md5: string }>> {
  return withPg(url, async (c) => {
    const r = await c.query<{ oid: string; size: string; md5: string }>(
      `SELECT m.oid::text AS oid, octet_length(lo_get(m.oid))::text AS size, md5(lo_get(m.oid)) AS md5
         FROM pg_largeobject_metadata m ORDER BY m.oid`,
    );
    return r.rows;
  });
}

/**
 * What the application does after the apply: a new object, one below every OID, one resized, one unlinked, one
 * changed in place with its size kept (only a comparison of the content finds it).
 */
const LIVE_SQL = `
  SELECT lo_put(body, 0, convert_to('S', 'UTF8')) FROM "doc files" WHERE id = 6;
  INSERT INTO "doc files" VALUES (31, lo_from_bytea(0, '\\x00ff00ff'::bytea));
  INSERT INTO "doc files"
    SELECT 32, lo_from_bytea((SELECT min(oid)::int8 - 7 FROM pg_largeobject_metadata)::oid, convert_to('low oid', 'UTF8'));
  SELECT lo_put(body, 5000, convert_to('appended page', 'UTF8')) FROM "doc files" WHERE id = 2;
  SELECT lo_unlink(body) FROM "doc files" WHERE id = 3;
  DELETE FROM "doc files" WHERE id = 3;`;

/** A large object written by another process (an application), now: its OID. */
function writeLargeObject(url: string): string {
  const script = `const pg = require('pg');
    const c = new pg.Client({ connectionString: process.env.URL });
    c.connect()
      .then(() => c.query("SELECT lo_from_bytea(0, convert_to('written during the freeze', 'UTF8'))::text AS oid"))
      .then((r) => { process.stdout.write(r.rows[0].oid); return c.end(); })
      .catch((e) => { console.error(e.message); process.exit(1); });`;
  return execFileSync(process.execPath, ['-e', script], { cwd: REPO, env: { ...process.env, URL: url } })
    .toString()
    .trim();
}

async function scenario(label: string, strategy: 'freeze' | 'stream'): Promise<void> {
  const dbs: FreshDatabases = await freshDatabases(label);
  try {
    await withPg(dbs.sourceUrl, (c) => c.query(SOURCE_SQL));
    const env = { SOURCE_DATABASE_URL: dbs.sourceUrl, TARGET_DATABASE_URL: dbs.targetUrl };
    const file = cfg.write(
      minimalConfig(`verify: { checksums: full }
cutover:
  strategy: ${strategy}
  max_write_freeze: 30s
${strategy === 'stream' ? '  stream: { replica_identity_full: true }\n' : ''}`),
      `${label}.yaml`,
    );
    const applied = runCli(['apply', '-c', file, '--auto-approve'], env);
    expect(applied.status, applied.stderr).toBe(0);
    expect(await objects(dbs.targetUrl)).toEqual(await objects(dbs.sourceUrl));

    await withPg(dbs.sourceUrl, (c) => c.query(LIVE_SQL));
    // the target's own object (a document it had before the migration): never carried, never pgshift's
    const own = await withPg(dbs.targetUrl, async (c) => {
      const r = await c.query<{ oid: string }>(
        "SELECT lo_from_bytea(0, convert_to('the target own letterhead', 'UTF8'))::text AS oid",
      );
      return r.rows[0]?.oid as string;
    });
    const notOwn = (list: Array<{ oid: string }>): Array<{ oid: string }> => list.filter((o) => o.oid !== own);
    const details: string[] = [];
    // the freeze does not stop large object writes by itself: one written once it began is the sync's inside it
    // (written by another process, synchronously: the cutover waits meanwhile, as it would for a slow step)
    let lateOid = '';
    await runCutover(loadConfig(file, env), {
      confirm: async () => true,
      onStep: (step, state, detail) => {
        if (state === 'done' && detail) details.push(`${step}: ${detail}`);
        if (step === 'freeze' && state === 'done') lateOid = writeLargeObject(dbs.sourceUrl);
      },
    });

    const source = await objects(dbs.sourceUrl);
    expect(source.map((o) => o.oid)).toContain(lateOid);
    const onTarget = await objects(dbs.targetUrl);
    expect(onTarget.map((o) => o.oid)).toContain(own);
    expect(notOwn(onTarget)).toEqual(source);
    const before = strategy === 'freeze' ? 'catch-up' : 'stream-catch-up';
    const inside = strategy === 'freeze' ? 'final-sync' : 'stream-fence';
    expect(details.find((d) => d.startsWith(`${before}:`))).toMatch(
      /4 large objects copied \([^)]+\), 1 large objects unlinked/,
    );
    expect(details.find((d) => d.startsWith(`${inside}:`))).toMatch(/1 large objects copied/);
    // the checkpoint counts what is on the target now: destroy would unlink exactly these
    await withPg(dbs.targetUrl, async (c) => {
      const r = await c.query<{ n: string; objects: string }>(
        `SELECT (SELECT count(*) FROM pgshift.large_objects)::text AS n, objects::text FROM pgshift.large_object_copy`,
      );
      expect(r.rows[0]).toEqual({ n: String(source.length), objects: String(source.length) });
    });
    if (strategy === 'freeze') {
      // object 4 has its own owner and reader on the source (roles the target does not have)
      const clerk = `${label}_clerk`;
      const reader = `${label}_reader`;
      const rolesOf4 = `SELECT pg_get_userbyid(m.lomowner)::text AS owner, m.lomacl::text AS acl
                          FROM pg_largeobject_metadata m JOIN "doc files" d ON d.body = m.oid WHERE d.id = 4`;
      const sourceRoles = await withPg(dbs.sourceUrl, async (c) => {
        await c.query(`DROP ROLE IF EXISTS ${clerk}; DROP ROLE IF EXISTS ${reader}; CREATE ROLE ${clerk}; CREATE ROLE ${reader};
`);
        const oid = (await c.query<{ body: string }>('SELECT body::text AS body FROM "doc files" WHERE id = 4')).rows[0]
          ?.body as string;
        await c.query(`ALTER LARGE OBJECT ${oid} OWNER TO ${clerk}; GRANT SELECT ON LARGE OBJECT ${oid} TO ${reader}`);
        return (await c.query(rolesOf4)).rows[0];
      });
      // the application, now on the target, writes large objects; the rollback carries them back
      await withPg(dbs.targetUrl, (c) => c.query(TARGET_SQL));
      // an object on both sides that pgshift has no record of, the same on both: what a carry-back killed between
      // the source's commit and its record leaves; the rollback adopts it
      for (const url of [dbs.targetUrl, dbs.sourceUrl])
        await withPg(url, (c) =>
          c.query(`SELECT lo_from_bytea(${ADOPTED}, convert_to('carried, not recorded', 'UTF8'))`),
        );
      const back = runCli(['rollback', '-c', file, '--auto-approve'], env);
      expect(back.status, back.stderr + back.stdout).toBe(0);
      const steps = await withPg(dbs.targetUrl, async (c) => {
        const r = await c.query<{ steps: Array<{ step: string; detail?: string }> }>(
          `SELECT steps FROM pgshift.cutover WHERE direction = 'rollback' ORDER BY started_at DESC LIMIT 1`,
        );
        return r.rows[0]?.steps ?? [];
      });
      expect(steps.find((x) => x.step === 'catch-up')?.detail).toMatch(
        /3 large objects copied \([^)]+\), 1 large objects unlinked/,
      );
      // object 4, resized on the target, was copied again over the source's: it keeps its owner and reader there
      expect(await withPg(dbs.sourceUrl, async (c) => (await c.query(rolesOf4)).rows[0])).toEqual(sourceRoles);
      const sourceAfter = await objects(dbs.sourceUrl);
      expect(sourceAfter).toEqual(notOwn(await objects(dbs.targetUrl)));
      expect(sourceAfter.map((o) => o.oid)).toContain(String(ADOPTED));
      await withPg(dbs.targetUrl, async (c) => {
        const r = await c.query<{ oid: string }>(
          'SELECT oid::text AS oid FROM pgshift.large_objects WHERE oid IN ($1::oid, $2::oid) ORDER BY oid',
          [own, ADOPTED],
        );
        // adopted as pgshift's; the target's own object never is (destroy unlinks only recorded objects)
        expect(r.rows.map((x) => x.oid)).toEqual([String(ADOPTED)]);
      });
      // a cutover after the rollback finds them in place (recorded as pgshift's on the target): nothing to copy
      const again = runCli(['cutover', '-c', file, '--auto-approve'], env);
      expect(again.status, again.stderr + again.stdout).toBe(0);
      expect(again.stdout).not.toMatch(/large objects (copied|unlinked)/);
      expect(notOwn(await objects(dbs.targetUrl))).toEqual(await objects(dbs.sourceUrl));
    }
  } finally {
    await dbs.drop();
  }
}

/** The OID of an object both sides have without a record of pgshift's. */
const ADOPTED = 3_900_000_000;

/** What the application does on the target after the cutover: a new object, one resized, one unlinked, one changed in place. */
const TARGET_SQL = `
  SELECT lo_put(body, 0, convert_to('T', 'UTF8')) FROM "doc files" WHERE id = 7;
  INSERT INTO "doc files" VALUES (40, lo_from_bytea(0, convert_to('consent form signed after the cutover', 'UTF8')));
  SELECT lo_put(body, 9000, convert_to('addendum', 'UTF8')) FROM "doc files" WHERE id = 4;
  SELECT lo_unlink(body) FROM "doc files" WHERE id = 5;
  DELETE FROM "doc files" WHERE id = 5;`;

describe('large objects at the cutover', () => {
  it('freeze strategy: the catch-up and the final sync carry objects created, resized and unlinked; rollback too', async () => {
    await scenario('lo_cutover_freeze', 'freeze');
  });

  it('stream strategy: the stream catch-up and the fence carry them too', async () => {
    await scenario('lo_cutover_stream', 'stream');
  });
});
