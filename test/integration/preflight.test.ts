/**
 * Preflight against the harness servers (source 15, target 17): extensions the target cannot create are plan
 * blockers (apply refuses before creating anything), deprecated ones warnings; copy.parallel beyond what the
 * target role may open is a finding in plan and a row in doctor; the server's statement_timeout is reported and
 * overridden. doctor --json carries every row with its code.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../e2e/cli.js';
import { configDir, minimalConfig } from '../support/config.js';
import { freshDatabases, quoteIdent, quoteLiteral, withPg, type FreshDatabases } from '../support/databases.js';

interface Finding {
  code: string;
  severity: string;
  address?: string;
  message: string;
  hint?: string;
}
interface DoctorJson {
  ok: boolean;
  checks: { id: string; code?: string; side: string; status: string; message: string; hint?: string }[];
}

const cfg = configDir('preflight');
let dbs: FreshDatabases;

beforeAll(async () => {
  dbs = await freshDatabases('preflight');
  await withPg(dbs.sourceUrl, (c) => c.query('CREATE TABLE patients (id int PRIMARY KEY, name text)'));
});
afterAll(async () => {
  await dbs?.drop();
  cfg.remove();
});

function withCredentials(url: string, user: string, password: string): string {
  const u = new URL(url);
  u.username = encodeURIComponent(user);
  u.password = encodeURIComponent(password);
  return u.toString();
}

async function createRole(name: string, password: string, extra = ''): Promise<string> {
  await withPg(dbs.targetUrl, async (c) => {
    await c.query(`CREATE ROLE ${quoteIdent(name)} LOGIN PASSWORD ${quoteLiteral(password)} ${extra}`);
    await c.query(`GRANT CREATE ON DATABASE ${quoteIdent(dbs.name)} TO ${quoteIdent(name)}`);
    await c.query(`GRANT CREATE ON SCHEMA public TO ${quoteIdent(name)}`);
  });
  return withCredentials(dbs.targetUrl, name, password);
}

function planJson(
  file: string,
  env: Record<string, string>,
): { status: number | null; findings: Finding[]; stderr: string } {
  const r = runCli(['plan', '-c', file, '--json'], env);
  let findings: Finding[] = [];
  try {
    findings = (JSON.parse(r.stdout) as { findings: Finding[] }).findings;
  } catch {
    throw new Error(`plan printed no JSON (exit ${r.status}):\n${r.stdout}\n${r.stderr}`);
  }
  return { status: r.status, findings, stderr: r.stderr };
}

describe('extensions', () => {
  it('an extension the target does not offer is a blocker at plan time, apply refuses before creating anything, doctor shows it', async () => {
    // adminpack ships with PostgreSQL 15 and was removed from 17
    await withPg(dbs.sourceUrl, (c) => c.query('CREATE EXTENSION adminpack'));
    try {
      const file = cfg.write(minimalConfig(), 'ext-missing.yaml');
      const env = { SOURCE_DATABASE_URL: dbs.sourceUrl, TARGET_DATABASE_URL: dbs.targetUrl };
      const plan = planJson(file, env);
      expect(plan.status).toBe(1);
      expect(plan.stderr).toContain('Error [PLAN_BLOCKED]');
      expect(plan.findings).toContainEqual(
        expect.objectContaining({ code: 'EXTENSION_UNAVAILABLE', severity: 'blocker', address: 'extension adminpack' }),
      );
      expect(plan.findings).toContainEqual(
        expect.objectContaining({ code: 'EXTENSION_DEPRECATED', severity: 'warning', address: 'extension adminpack' }),
      );
      const text = runCli(['plan', '-c', file], env);
      expect(text.stdout).toMatch(/EXTENSION_UNAVAILABLE/);
      expect(text.stdout).toMatch(/extension adminpack .*not available on the target/);

      const apply = runCli(['apply', '-c', file, '--auto-approve'], env);
      expect(apply.status).toBe(1);
      expect(apply.stderr).toContain('Error [PLAN_BLOCKED]');
      expect(apply.stderr).toContain('EXTENSION_UNAVAILABLE');
      const created = await withPg(dbs.targetUrl, (c) => c.query(`SELECT 1 FROM pg_class WHERE relname = 'patients'`));
      expect(created.rowCount).toBe(0);
      // the next tests plan as other roles: leave no state schema owned by the superuser behind
      await withPg(dbs.targetUrl, (c) => c.query('DROP SCHEMA IF EXISTS pgshift CASCADE'));

      const doctor = runCli(['doctor', '-c', file, '--json'], env);
      expect(doctor.status).toBe(1);
      const report = JSON.parse(doctor.stdout) as DoctorJson;
      expect(report.checks).toContainEqual(
        expect.objectContaining({ id: 'extensions', code: 'EXTENSION_UNAVAILABLE', side: 'target', status: 'block' }),
      );
      expect(report.checks).toContainEqual(
        expect.objectContaining({ id: 'extensions', code: 'EXTENSION_DEPRECATED', status: 'warn' }),
      );
    } finally {
      await withPg(dbs.sourceUrl, (c) => c.query('DROP EXTENSION adminpack'));
    }
  });

  it('an untrusted extension is a blocker when the target role is not a superuser, until a superuser creates it there', async () => {
    await withPg(dbs.sourceUrl, (c) => c.query('CREATE EXTENSION dblink; CREATE EXTENSION pgcrypto'));
    try {
      const file = cfg.write(minimalConfig(), 'ext-superuser.yaml');
      const env = {
        SOURCE_DATABASE_URL: dbs.sourceUrl,
        TARGET_DATABASE_URL: await createRole('pgshift_app_owner', 'owner-pw-123'),
      };
      const plan = planJson(file, env);
      expect(plan.status).toBe(1);
      const codes = plan.findings
        .filter((f) => f.address?.startsWith('extension '))
        .map((f) => `${f.code} ${f.address}`);
      // dblink needs a superuser; pgcrypto is trusted (CREATE on the database is enough)
      expect(codes).toEqual(['EXTENSION_REQUIRES_SUPERUSER extension dblink']);
      expect(plan.findings.find((f) => f.code === 'EXTENSION_REQUIRES_SUPERUSER')?.message).toMatch(
        /target role pgshift_app_owner is not one/,
      );

      await withPg(dbs.targetUrl, (c) => c.query('CREATE EXTENSION dblink'));
      try {
        const again = planJson(file, env);
        expect(again.findings.filter((f) => f.address?.startsWith('extension '))).toEqual([]);
        const doctor = JSON.parse(runCli(['doctor', '-c', file, '--json'], env).stdout) as DoctorJson;
        expect(doctor.checks).toContainEqual(
          expect.objectContaining({ code: 'EXTENSION_INSTALLED', side: 'target', status: 'ok' }),
        );
        expect(doctor.checks).toContainEqual(
          expect.objectContaining({ code: 'EXTENSION_AVAILABLE', side: 'target', status: 'ok' }),
        );
      } finally {
        await withPg(dbs.targetUrl, (c) => c.query('DROP EXTENSION dblink'));
      }
    } finally {
      await withPg(dbs.sourceUrl, (c) => c.query('DROP EXTENSION dblink; DROP EXTENSION pgcrypto'));
    }
  });
});

describe('statement timeout', () => {
  it("reports the role's default, shows that pgshift's session overrides it, and adds no plan finding", async () => {
    const url = await createRole('pgshift_timed', 'timed-pw-123');
    await withPg(dbs.targetUrl, (c) =>
      c.query(
        `ALTER ROLE ${quoteIdent('pgshift_timed')} IN DATABASE ${quoteIdent(dbs.name)} SET statement_timeout = '2min'`,
      ),
    );
    const env = { SOURCE_DATABASE_URL: dbs.sourceUrl, TARGET_DATABASE_URL: url };
    const file = cfg.write(minimalConfig(), 'timeout.yaml');
    const doctor = runCli(['doctor', '-c', file, '--json'], env);
    expect(doctor.status, doctor.stderr).toBe(0);
    const report = JSON.parse(doctor.stdout) as DoctorJson;
    const row = report.checks.find((c) => c.id === 'statement_timeout' && c.side === 'target');
    expect(row).toMatchObject({ code: 'STATEMENT_TIMEOUT_OVERRIDDEN', status: 'info' });
    expect(row?.message).toMatch(/server default 2min for role pgshift_timed; pgshift sets 0/);
    expect(report.checks.find((c) => c.id === 'statement_timeout' && c.side === 'source')).toMatchObject({
      code: 'STATEMENT_TIMEOUT_NONE',
      status: 'ok',
    });
    const text = runCli(['doctor', '-c', file], env);
    expect(text.stdout).toMatch(/target\s+statement_timeout: server default 2min/);

    const plan = planJson(file, env);
    expect(plan.status, plan.stderr).toBe(0);
    expect(plan.findings.filter((f) => f.code.startsWith('STATEMENT_TIMEOUT'))).toEqual([]);
  });
});

describe('connection headroom', () => {
  it("copy.parallel beyond the role's CONNECTION LIMIT: a plan warning (apply runs fewer workers), a blocking doctor row; too few for one worker: a blocker", async () => {
    const env = {
      SOURCE_DATABASE_URL: dbs.sourceUrl,
      TARGET_DATABASE_URL: await createRole('pgshift_capped_pf', 'capped-pw-123', 'CONNECTION LIMIT 4'),
    };
    const file = cfg.write(minimalConfig('copy: { parallel: 6 }\n'), 'headroom.yaml');
    const plan = planJson(file, env);
    expect(plan.status, plan.stderr).toBe(0);
    expect(plan.findings).toContainEqual(
      expect.objectContaining({
        code: 'CONNECTION_HEADROOM',
        severity: 'warning',
        message: expect.stringMatching(
          /copy\.parallel=6 needs 8 target connections but role pgshift_capped_pf's CONNECTION LIMIT 4 allows 4/,
        ),
      }),
    );
    // a saved plan with the finding is applied as it is (the finding does not move with live connection counts),
    // with fewer copy workers than copy.parallel
    const planFile = `${cfg.dir}/headroom.plan.json`;
    const saved = runCli(['plan', '-c', file, '--out', planFile], env);
    expect(saved.status, saved.stderr).toBe(0);
    const applied = runCli(['apply', planFile, '-c', file], env);
    expect(applied.status, applied.stderr).toBe(0);
    expect(applied.stdout).toContain('Apply complete');

    const doctor = runCli(['doctor', '-c', file, '--json'], env);
    expect(doctor.status).toBe(1);
    const report = JSON.parse(doctor.stdout) as DoctorJson;
    expect(report.checks).toContainEqual(
      expect.objectContaining({
        id: 'connections',
        code: 'CONNECTION_HEADROOM',
        side: 'target',
        status: 'block',
        message: expect.stringMatching(/CONNECTION LIMIT 4; copy\.parallel=6 needs 8/),
      }),
    );

    const within = cfg.write(minimalConfig('copy: { parallel: 2 }\n'), 'headroom-ok.yaml');
    expect(planJson(within, env).findings.filter((f) => f.code.startsWith('CONNECTION'))).toEqual([]);

    await withPg(dbs.targetUrl, (c) => c.query(`ALTER ROLE ${quoteIdent('pgshift_capped_pf')} CONNECTION LIMIT 2`));
    const starved = planJson(within, env);
    expect(starved.status).toBe(1);
    expect(starved.findings).toContainEqual(
      expect.objectContaining({ code: 'CONNECTIONS_INSUFFICIENT', severity: 'blocker' }),
    );
  });
});

describe("Supabase's direct host", () => {
  it('a failed connection to db.<ref>.supabase.co is explained in doctor (IPv6 only) with the session pooler as the fix', () => {
    const file = cfg.write(
      minimalConfig('  provider: supabase\nconnection: { connect_timeout: 3s, retry: { attempts: 1 } }\n'),
      'supabase-direct.yaml',
    );
    const target = 'postgres://postgres:direct-pw-123@db.pgshiftnosuchref0000.supabase.co:5432/postgres';
    const r = runCli(['doctor', '-c', file, '--json'], {
      SOURCE_DATABASE_URL: dbs.sourceUrl,
      TARGET_DATABASE_URL: target,
    });
    expect(r.status).toBe(1);
    const report = JSON.parse(r.stdout) as DoctorJson & { target: { reachable: boolean; error: { message: string } } };
    expect(report.target.reachable).toBe(false);
    expect(r.stdout + r.stderr).not.toContain('direct-pw-123');
    // this machine either has no route to the host or cannot resolve it (the ref does not exist): both are explained
    const errno = /\b(ENETUNREACH|EHOSTUNREACH|ENOTFOUND|EADDRNOTAVAIL|EAI_AGAIN)\b/.exec(
      report.target.error.message,
    )?.[1];
    if (errno === 'EAI_AGAIN') {
      console.warn('no DNS answer here (EAI_AGAIN): the IPv6-only explanation is not checked');
      return;
    }
    expect(errno, report.target.error.message).toBeDefined();
    const row = report.checks.find((c) => c.code === 'SUPABASE_DIRECT_IPV6_ONLY');
    expect(row).toMatchObject({ id: 'network', side: 'target', status: 'block' });
    expect(row?.message).toMatch(/only an IPv6 address/);
    expect(row?.hint).toMatch(
      /session pooler instead \(IPv4\): host aws-N-<region>\.pooler\.supabase\.com, port 5432 .*user postgres\.pgshiftnosuchref0000/,
    );
    expect(report.target.error.message).toMatch(/only an IPv6 address/);
  });
});
