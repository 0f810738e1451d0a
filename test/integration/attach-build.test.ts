/**
 * A primary key and a unique constraint built as their unique indexes beside a slow index build of the same table,
 * then attached USING INDEX (src/catalog/kinds/constraint.ts, src/apply/handlers/create-object.ts): the attach waits
 * for the other build's SHARE lock for longer than connection.lock_timeout without failing or building again, and
 * the target ends with the constraints under their names (hostile ones).
 */
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCliAsync } from '../e2e/cli.js';
import { configDir, minimalConfig } from '../support/config.js';
import { freshDatabases, type FreshDatabases, waitForSettled, withPg } from '../support/databases.js';

const cfg = configDir('attach-build');

// slow_key sleeps 1 ms a row: its index takes seconds to build, far beyond the 1 s lock_timeout below
const SOURCE = `
CREATE SCHEMA "Cl""inic";
CREATE FUNCTION "Cl""inic".slow_key(t text) RETURNS text IMMUTABLE LANGUAGE plpgsql
  AS $$ BEGIN PERFORM pg_catalog.pg_sleep(0.001); RETURN t; END $$;
CREATE TABLE "Cl""inic"."Pa""tients" (
  id bigint NOT NULL, email text NOT NULL, v text,
  CONSTRAINT "Pa""tients pk" PRIMARY KEY (id),
  CONSTRAINT "Pa""tients_email_key" UNIQUE (email)
);
INSERT INTO "Cl""inic"."Pa""tients" SELECT i, 'p' || i || '@example.org', md5(i::text) FROM generate_series(1, 1500) i;
CREATE INDEX "Pa""tients_slow" ON "Cl""inic"."Pa""tients" ("Cl""inic".slow_key(v));
ANALYZE;
`;

describe('a primary key built beside a slow index build of its table', () => {
  let dbs: FreshDatabases;
  let env: NodeJS.ProcessEnv;
  let file: string;
  beforeAll(async () => {
    dbs = await freshDatabases('attach_build');
    await withPg(dbs.sourceUrl, (c) => c.query(SOURCE));
    await waitForSettled(dbs.sourceUrl);
    env = { SOURCE_DATABASE_URL: dbs.sourceUrl, TARGET_DATABASE_URL: dbs.targetUrl };
    file = cfg.write(
      minimalConfig('copy: { parallel: 3 }\nconnection: { lock_timeout: 1s }\nverify: { checksums: full }\n'),
    );
  }, 120_000);
  afterAll(async () => {
    await dbs?.drop();
  });

  it('attaches once the other build is done, past lock_timeout, with no retry and no second build', async () => {
    const applying = runCliAsync(
      ['apply', '-c', file, '--auto-approve', '--log-format', 'json', '--log-level', 'debug'],
      env,
    );
    // meanwhile a reader of the table with a short lock_timeout: never queued behind the waiting attach
    let done = false;
    const reads = { ok: 0, timedOut: 0 };
    const reader = (async () => {
      const c = new pg.Client({ connectionString: dbs.targetUrl });
      await c.connect();
      try {
        await c.query("SET lock_timeout = '150ms'");
        while (!done) {
          try {
            const n = await c.query<{ n: number }>(
              `SELECT count(*)::int AS n FROM "Cl""inic"."Pa""tients" WHERE to_regclass('"Cl""inic"."Pa""tients_slow"') IS NULL`,
            );
            if ((n.rows[0]?.n ?? 0) > 0) reads.ok++;
          } catch (err) {
            if ((err as { code?: string }).code === '55P03') reads.timedOut++;
            else if ((err as { code?: string }).code !== '42P01') throw err; // the table is not there yet
          }
          await new Promise((res) => setTimeout(res, 100));
        }
      } finally {
        await c.end();
      }
    })();
    const r = await applying;
    done = true;
    await reader;
    expect(r.status, r.stdout + r.stderr).toBe(0);
    expect(reads.ok, 'the reader read the copied table while its indexes were building').toBeGreaterThan(5);
    expect(reads.timedOut).toBe(0);
    // no attempt failed on the lock (the executor would have retried it, building the index again)
    expect(r.stdout + r.stderr).not.toMatch(/lock timeout|retry/i);
    await withPg(dbs.targetUrl, async (c) => {
      const cons = await c.query<{ conname: string; contype: string; index: string }>(
        `SELECT co.conname, co.contype, ci.relname AS index
           FROM pg_catalog.pg_constraint co JOIN pg_catalog.pg_class ci ON ci.oid = co.conindid
          WHERE co.conrelid = '"Cl""inic"."Pa""tients"'::regclass ORDER BY co.conname`,
      );
      expect(cons.rows).toEqual([
        { conname: 'Pa"tients pk', contype: 'p', index: 'Pa"tients pk' },
        { conname: 'Pa"tients_email_key', contype: 'u', index: 'Pa"tients_email_key' },
      ]);
      // every action recorded once
      const recorded = await c.query<{ address: string }>(
        `SELECT address FROM pgshift.objects WHERE address LIKE '%Pa"tients%' ORDER BY address`,
      );
      expect(recorded.rows.map((x) => x.address)).toEqual(
        expect.arrayContaining(['constraint Cl"inic.Pa"tients.Pa"tients pk', 'index Cl"inic.Pa"tients_slow']),
      );
    });
    // side by side: the primary key started before the slow index ended, and ended once that build was done
    const spans = new Map<string, { start: number; end: number }>();
    for (const line of r.stderr.split('\n')) {
      if (!line.startsWith('{')) continue;
      const l = JSON.parse(line) as { msg?: string; address?: string; ms?: number; time?: string };
      if (l.msg === 'done' && l.address && typeof l.ms === 'number' && l.time) {
        const end = Date.parse(l.time);
        spans.set(l.address, { start: end - l.ms, end });
      }
    }
    const pk = spans.get('constraint Cl"inic.Pa"tients.Pa"tients pk');
    const slow = spans.get('index Cl"inic.Pa"tients_slow');
    expect(pk && slow, [...spans.keys()].join(', ')).toBeTruthy();
    expect(pk!.start).toBeLessThan(slow!.end - 1000);
    expect(pk!.end).toBeGreaterThanOrEqual(slow!.end - 50);
    // the plan now has nothing to do, and the verification passed
    const again = await runCliAsync(['plan', '-c', file, '--json'], env);
    expect(again.status, again.stderr).toBe(0);
    expect((JSON.parse(again.stdout) as { actions: unknown[] }).actions).toEqual([]);
  }, 120_000);
});
