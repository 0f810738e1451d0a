/**
 * Large objects (issue 15): 10,000 of them on the source, a few of several MB, some with another owner and grants
 * (hostile role names); the plan shows them, a kill -9 of the apply after some batches committed resumes after the
 * last one (nothing missing, nothing twice, fewer copied the second time), verify compares them by OID and finds a
 * changed byte, destroy unlinks them. A target holding one of the source's OIDs stops the copy, naming the OID.
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BIN, REPO, runCli, runCliAsync } from '../e2e/cli.js';
import { syncLargeObjects } from '../../src/copy/large-objects.js';
import { configDir, minimalConfig } from '../support/config.js';
import { freshDatabases, quoteIdent, withPg, type FreshDatabases } from '../support/databases.js';

const cfg = configDir('large-objects');
afterAll(() => cfg.remove());

/** mulberry32: the same bytes on every run. */
function seeded(seed: number): (n: number) => Buffer {
  let a = seed >>> 0;
  const next = (): number => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (t ^ (t >>> 14)) >>> 0;
  };
  return (n) => {
    const b = Buffer.alloc(Math.ceil(n / 4) * 4);
    for (let i = 0; i < b.length; i += 4) b.writeUInt32LE(next(), i);
    return b.subarray(0, n);
  };
}

const env = (d: FreshDatabases): NodeJS.ProcessEnv => ({
  SOURCE_DATABASE_URL: d.sourceUrl,
  TARGET_DATABASE_URL: d.targetUrl,
});

interface LoRow {
  oid: string;
  owner: string;
  acl: string | null;
  size: string;
  md5: string;
}

/** Every large object of a database with its owner, its grants (grantee names), size and md5 (test-side check). */
async function largeObjects(url: string, roleName: (r: string) => string = (r) => r): Promise<LoRow[]> {
  return withPg(url, async (c) => {
    const r = await c.query<LoRow>(
      `SELECT m.oid::text AS oid, pg_get_userbyid(m.lomowner)::text AS owner,
              (SELECT string_agg(g.item, ',' ORDER BY g.item)
                 FROM (SELECT CASE WHEN a.grantee = 0 THEN 'PUBLIC' ELSE pg_get_userbyid(a.grantee)::text END || ':' || a.privilege_type AS item
                         FROM aclexplode(m.lomacl) a WHERE a.grantee <> m.lomowner) g) AS acl,
              octet_length(lo_get(m.oid))::text AS size, md5(lo_get(m.oid)) AS md5
         FROM pg_largeobject_metadata m ORDER BY m.oid`,
    );
    return r.rows.map((x) => ({ ...x, owner: roleName(x.owner) }));
  });
}

describe('large objects', () => {
  let dbs: FreshDatabases;
  let file: string;
  const suffix = randomBytes(3).toString('hex');
  // hostile role names: a quote, a dot, a keyword, unicode
  const owner = `lo we"ird.owner ${suffix}`;
  const reader = `select ${suffix} lecteur é`;
  const sourceOwner = `src_${suffix}`; // the source's owner, mapped to the hostile name
  const bigOids: string[] = [];

  beforeAll(async () => {
    dbs = await freshDatabases('large_objects');
    const bytes = seeded(15);
    await withPg(dbs.sourceAdminUrl, (c) =>
      c.query(`CREATE ROLE ${quoteIdent(sourceOwner)} NOLOGIN; CREATE ROLE ${quoteIdent(reader)} NOLOGIN;`),
    );
    await withPg(dbs.sourceUrl, async (c) => {
      // 10,000 small objects (0 to 2 kB), written 1,000 a statement, and three of several MB among them
      for (let batch = 0; batch < 10; batch++) {
        const data = Array.from({ length: 1000 }, (_, i) => bytes((batch * 1000 + i) % 2048));
        await c.query('SELECT lo_from_bytea(0, d) FROM unnest($1::bytea[]) AS d', [data]);
        if (batch % 4 === 1) {
          const big = await c.query<{ oid: string }>('SELECT lo_from_bytea(0, $1)::text AS oid', [
            bytes((3 + batch) * 1024 * 1024 + 17),
          ]);
          bigOids.push(big.rows[0]?.oid as string);
        }
      }
      // another owner for every 10th, grants for every 7th, one granted to PUBLIC
      await c.query(`DO $$
        DECLARE o oid; i int := 0;
        BEGIN
          FOR o IN SELECT oid FROM pg_largeobject_metadata ORDER BY oid LOOP
            i := i + 1;
            IF i % 10 = 0 THEN EXECUTE format('ALTER LARGE OBJECT %s OWNER TO %I', o, ${quoteLiteralSql(sourceOwner)}); END IF;
            IF i % 7 = 0 THEN EXECUTE format('GRANT SELECT ON LARGE OBJECT %s TO %I', o, ${quoteLiteralSql(reader)}); END IF;
            IF i = 5000 THEN EXECUTE format('GRANT SELECT, UPDATE ON LARGE OBJECT %s TO PUBLIC', o); END IF;
          END LOOP;
        END $$`);
    });
    file = cfg.write(
      minimalConfig(
        `roles:\n  map: { ${JSON.stringify(sourceOwner)}: ${JSON.stringify(owner)}, ${JSON.stringify(reader)}: ${JSON.stringify(reader)} }\n  create: [${JSON.stringify(owner)}, ${JSON.stringify(reader)}]\n  owners: mapped\n`,
      ),
      'lo.yaml',
    );
  }, 120_000);
  afterAll(async () => {
    await dbs?.drop();
    await withPg(dbs.sourceAdminUrl, (c) =>
      c.query(`DROP ROLE IF EXISTS ${quoteIdent(sourceOwner)}; DROP ROLE IF EXISTS ${quoteIdent(reader)}`),
    );
    await withPg(dbs.targetAdminUrl, (c) =>
      c.query(`DROP ROLE IF EXISTS ${quoteIdent(owner)}; DROP ROLE IF EXISTS ${quoteIdent(reader)}`),
    ).catch(() => undefined);
  });

  it('plans, survives a kill -9 mid-way, verifies (a changed byte is found) and destroys', async () => {
    const e = env(dbs);
    const total = 10_003;
    const plan = runCli(['plan', '-c', file], e);
    expect(plan.status, plan.stderr).toBe(0);
    expect(plan.stdout).toMatch(/\+ large_objects: 10,003 objects, ~\d+\.\d MiB/);
    const json = JSON.parse(runCli(['plan', '-c', file, '--json'], e).stdout) as {
      actions: Array<{ kind: string; objects?: number; owners?: Record<string, string>; dependsOn: string[] }>;
    };
    const action = json.actions.find((a) => a.kind === 'large_objects');
    expect(action?.objects).toBe(total);
    expect(action?.owners).toEqual({ [sourceOwner]: owner });
    expect(action?.dependsOn).toEqual(expect.arrayContaining([`role ${owner}`, `role ${reader}`]));

    // kill -9 once the checkpoint shows two batches committed and the copy still running
    const child = spawn(process.execPath, [BIN, 'apply', '-c', file, '--auto-approve'], {
      cwd: REPO,
      env: { PATH: process.env.PATH, HOME: process.env.HOME, CI: 'true', ...e },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let stderr = '';
    child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
    const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
    await withPg(dbs.targetUrl, async (c) => {
      let gone = false;
      void exited.then(() => (gone = true));
      while (!gone) {
        const r = await c
          .query<{ objects: string; status: string }>(
            'SELECT objects::text AS objects, status FROM pgshift.large_object_copy',
          )
          .catch(() => ({ rows: [] as Array<{ objects: string; status: string }> }));
        const row = r.rows[0];
        if (row && Number(row.objects) >= 2000 && row.status === 'running') {
          child.kill('SIGKILL');
          break;
        }
        await new Promise((res) => setTimeout(res, 5));
      }
    });
    expect(await exited, `the apply finished before the kill: ${stderr}`).toBeNull();
    const seen = await withPg(dbs.targetUrl, async (c) => {
      const r = await c.query<{ objects: string; status: string; n: string }>(
        `SELECT objects::text AS objects, status, (SELECT count(*) FROM pgshift.large_objects)::text AS n,
                (SELECT count(*) FROM pg_largeobject_metadata)::text AS present FROM pgshift.large_object_copy`,
      );
      const row = r.rows[0] as { objects: string; status: string; n: string; present?: string };
      // the checkpoint, the records and the objects agree: a batch commits whole or not at all
      expect(row.n).toBe(row.objects);
      expect((row as unknown as { present: string }).present).toBe(row.objects);
      return { objects: Number(row.objects), status: row.status };
    });
    expect(seen.status).toBe('running');
    expect(seen.objects).toBeGreaterThanOrEqual(2000);
    expect(seen.objects).toBeLessThan(total);

    const status = runCli(['status', '-c', file], e);
    expect(status.stdout).toMatch(
      new RegExp(
        `large objects interrupted: ${seen.objects.toLocaleString('en-US')} objects, .* copied, up to OID \\d+ \\(the next apply resumes after it\\)`,
      ),
    );
    const resumed = runCli(['plan', '-c', file], e);
    expect(resumed.stdout).toMatch(/~ large_objects: 10,003 objects, .*\(resuming after OID \d+: [\d,]+ objects/);
    const again = await runCliAsync(['apply', '-c', file, '--auto-approve'], e);
    expect(again.status, again.stdout + again.stderr).toBe(0);

    // everything once, with its OID, owner, grants and bytes
    const mapped = (r: string): string => (r === sourceOwner ? owner : r);
    const src = await largeObjects(dbs.sourceUrl, mapped);
    const tgt = await largeObjects(dbs.targetUrl);
    expect(src).toHaveLength(total);
    const connecting = (await largeObjects(dbs.targetUrl)).find((x) => x.owner !== owner)?.owner;
    const srcSuper = src.find((x) => x.owner !== owner)?.owner;
    expect(tgt).toEqual(src.map((x) => ({ ...x, owner: x.owner === srcSuper ? connecting : x.owner })));
    expect(tgt.filter((x) => x.owner === owner)).toHaveLength(1000);
    expect(tgt.filter((x) => x.acl?.includes(`${reader}:SELECT`))).toHaveLength(1429);
    expect(tgt.filter((x) => x.acl === 'PUBLIC:SELECT,PUBLIC:UPDATE')).toHaveLength(1);
    expect(tgt.filter((x) => Number(x.size) > 1024 * 1024)).toHaveLength(3);
    const records = await withPg(dbs.targetUrl, (c) =>
      c.query<{ run_id: string; n: string }>(
        'SELECT run_id, count(*)::text AS n FROM pgshift.large_objects GROUP BY 1 ORDER BY min(oid)',
      ),
    );
    // two runs: the killed one's batches were kept, the second copied only the rest
    expect(records.rows.map((r) => Number(r.n))).toEqual([seen.objects, total - seen.objects]);
    expect(runCli(['plan', '-c', file, '--detailed-exitcode'], e).status).toBe(0);
    expect(runCli(['status', '-c', file], e).stdout).toMatch(/large objects done: 10,003 objects, \d+\.\d MiB copied/);

    const verified = runCli(['verify', '-c', file], e);
    expect(verified.status, verified.stdout + verified.stderr).toBe(0);
    expect(verified.stdout).toMatch(/large objects\s+10,003\s+10,003\s+match/);

    // one changed byte, deep inside a several-MB object: found, named by its OID, no content printed
    const changed = bigOids[1] as string;
    await withPg(dbs.targetUrl, (c) =>
      c.query(
        `SELECT lo_put($1::oid, 2097155, CASE WHEN get_byte(lo_get($1::oid, 2097155, 1), 0) = 0 THEN '\\x01' ELSE '\\x00' END::bytea)`,
        [changed],
      ),
    );
    const bad = runCli(['verify', '-c', file], e);
    expect(bad.status, bad.stdout + bad.stderr).toBe(3);
    expect(bad.stdout).toContain(`large object ${changed}: content differs`);
    expect(bad.stdout).toMatch(/large objects\s+10,003\s+10,003\s+mismatch\s+1/);
    expect(bad.stderr).toMatch(/1 large object\(s\)/);

    const destroyed = runCli(['destroy', '-c', file, '--auto-approve'], e);
    expect(destroyed.status, destroyed.stdout + destroyed.stderr).toBe(0);
    expect(destroyed.stdout).toContain('- large_objects: 10,003 objects');
    const left = await withPg(dbs.targetUrl, (c) =>
      c.query<{ n: string; state: boolean }>(
        `SELECT (SELECT count(*) FROM pg_largeobject_metadata)::text AS n,
                to_regclass('pgshift.large_objects') IS NOT NULL AS state`,
      ),
    );
    expect(left.rows[0]).toEqual({ n: '0', state: false });
  }, 180_000);
});

describe('a target that already has one of the OIDs', () => {
  let dbs: FreshDatabases;
  beforeAll(async () => {
    dbs = await freshDatabases('large_objects_clash');
  });
  afterAll(async () => dbs?.drop());

  it('stops the copy naming the OID, and resumes once it is gone', async () => {
    await withPg(dbs.sourceUrl, (c) =>
      c.query(`SELECT lo_from_bytea(o, convert_to('source ' || o, 'UTF8')) FROM generate_series(40001, 40010) o`),
    );
    await withPg(dbs.targetUrl, (c) => c.query(`SELECT lo_from_bytea(40007, '\\x0102'::bytea)`));
    const file = cfg.write(minimalConfig(), 'clash.yaml');
    const e = env(dbs);
    // plan says so first (a warning: what the copy reaches before it is kept)
    const warned = runCli(['plan', '-c', file], e);
    expect(warned.stdout).toContain(
      "Warning [LARGE_OBJECT_EXISTS]: the target already has 1 large object(s) that pgshift did not create with OIDs the source's large objects use (the first: 40007)",
    );
    const r = runCli(['apply', '-c', file, '--auto-approve'], e);
    expect(r.status).toBe(1);
    expect(r.stderr).toContain('LARGE_OBJECT_EXISTS');
    expect(r.stderr).toContain('large object 40007, which pgshift did not create');
    expect(r.stderr).toContain('lo_unlink(40007)');
    const none = await withPg(dbs.targetUrl, (c) =>
      c.query<{ n: string }>('SELECT count(*)::text AS n FROM pg_largeobject_metadata'),
    );
    expect(none.rows[0]?.n).toBe('1'); // the batch rolled back whole: only the target's own object is there
    await withPg(dbs.targetUrl, (c) => c.query('SELECT lo_unlink(40007)'));
    // a saved plan holds the action as JSON; apply runs it exactly (nothing of the stopped batch was kept)
    const saved = `${cfg.dir}/clash.plan.json`;
    const planned = runCli(['plan', '-c', file, '--out', saved], e);
    expect(planned.stdout).toContain('+ large_objects: 10 objects'); // the stopped batch left no checkpoint
    const ok = runCli(['apply', '-c', file, saved], e);
    expect(ok.status, ok.stdout + ok.stderr).toBe(0);
    expect(await largeObjects(dbs.targetUrl)).toEqual(await largeObjects(dbs.sourceUrl));
    // only large objects were migrated (no table, no object): verify still has something to compare
    const verified = runCli(['verify', '-c', file], e);
    expect(verified.status, verified.stdout + verified.stderr).toBe(0);
    expect(verified.stdout).toMatch(/large objects\s+10\s+10\s+match/);
  }, 120_000);
});

/** A SQL string literal for the DO block (test-side). */
function quoteLiteralSql(s: string): string {
  return `'${s.replace(/'/g, "''")}'`;
}

describe('a source role that cannot read some large objects', () => {
  let dbs: FreshDatabases;
  const role = `lo_reader_${randomBytes(3).toString('hex')}`;
  beforeAll(async () => {
    dbs = await freshDatabases('large_objects_unreadable');
  });
  afterAll(async () => {
    await dbs?.drop();
    await withPg(dbs.sourceAdminUrl, (c) => c.query(`DROP ROLE IF EXISTS ${quoteIdent(role)}`));
  });

  it('is a blocker naming how many and the first OID, until it may read them', async () => {
    await withPg(dbs.sourceUrl, (c) =>
      c.query(`CREATE ROLE ${quoteIdent(role)} LOGIN PASSWORD 'lo-reader-pw-1';
               SELECT lo_from_bytea(o, '\\x00'::bytea) FROM generate_series(50001, 50004) o;
               ALTER LARGE OBJECT 50001 OWNER TO ${quoteIdent(role)};
               GRANT SELECT ON LARGE OBJECT 50002 TO ${quoteIdent(role)};`),
    );
    const source = new URL(dbs.sourceUrl);
    source.username = role;
    source.password = 'lo-reader-pw-1';
    const file = cfg.write(minimalConfig(), 'unreadable.yaml');
    const e = { SOURCE_DATABASE_URL: source.toString(), TARGET_DATABASE_URL: dbs.targetUrl };
    const plan = runCli(['plan', '-c', file], e);
    expect(plan.stdout + plan.stderr).toContain(
      "[LARGE_OBJECTS_UNREADABLE]: the source role cannot read 2 of the source's 4 large object(s) (the first: OID 50003)",
    );
    await withPg(dbs.sourceUrl, (c) => c.query(`GRANT SELECT ON LARGE OBJECT 50003, 50004 TO ${quoteIdent(role)}`));
    const again = runCli(['plan', '-c', file], e);
    expect(again.stdout).toContain('+ large_objects: 4 objects');
    expect(again.stdout + again.stderr).not.toContain('LARGE_OBJECTS_UNREADABLE');
    // a role that is no superuser copies what it owns or may read (lo_get), and verify compares them
    const applied = runCli(['apply', '-c', file, '--auto-approve'], e);
    expect(applied.status, applied.stdout + applied.stderr).toBe(0);
    expect((await largeObjects(dbs.targetUrl)).map((x) => [x.oid, x.md5])).toEqual(
      (await largeObjects(dbs.sourceUrl)).map((x) => [x.oid, x.md5]),
    );
    // an object created after the plan that the role may not read stops the cutover's sync with a code, a hint and
    // nothing changed (skipping it would read as gone, and unlink its copy on the target)
    await withPg(dbs.sourceUrl, (c) => c.query(`SELECT lo_from_bytea(50005, '\\x01'::bytea)`));
    const before = await largeObjects(dbs.targetUrl);
    const err = await withPg(source.toString(), (s) =>
      withPg(dbs.targetUrl, (t) =>
        syncLargeObjects(s, t, { runId: 'unreadable', roles: { owners: {}, grantees: {} } }).then(
          () => null,
          (e: unknown) => e as { code?: string; message?: string; hint?: string },
        ),
      ),
    );
    expect(err?.code).toBe('LARGE_OBJECTS_UNREADABLE');
    expect(err?.message).toContain('the source role cannot read a large object with an OID above 0');
    expect(err?.hint).toContain('GRANT SELECT ON LARGE OBJECT');
    expect(await largeObjects(dbs.targetUrl)).toEqual(before);
  }, 60_000);
});
