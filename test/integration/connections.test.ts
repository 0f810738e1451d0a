/**
 * Connections against real servers: doctor on both harness servers, fail-fast on a refused loopback port (bounded
 * retries off loopback), fail-fast on a wrong password, a server that restarts, TLS verify-full with a CA made here, a server off
 * loopback (this machine's network address) verified by default with the ssl block to write when it cannot be,
 * and no password anywhere in what pgshift prints.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { lookup } from 'node:dns/promises';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectClient, type SessionSettings } from '../../src/db/connect.js';
import { resolveEndpoint } from '../../src/db/endpoint.js';
import { createLogger, setLogger } from '../../src/log/logger.js';
import { checkApplicationUrl } from '../../src/cutover/health.js';
import { makeCa, makeSelfSignedCert, makeServerCert } from '../support/certs.js';
import { configDir, minimalConfig } from '../support/config.js';
import { freshDatabases, quoteIdent, quoteLiteral, withPg, type FreshDatabases } from '../support/databases.js';
import { EmbeddedPostgres, freePort, startEmbedded } from '../support/embedded.js';
import { REPO, runCli } from '../e2e/cli.js';

const cfg = configDir('connections');
let dbs: FreshDatabases;

beforeAll(async () => {
  dbs = await freshDatabases('connections');
});
afterAll(async () => {
  await dbs?.drop();
  cfg.remove();
});

function withCredentials(url: string, user: string, password: string, database?: string): string {
  const u = new URL(url);
  u.username = encodeURIComponent(user);
  u.password = encodeURIComponent(password);
  if (database) u.pathname = `/${database}`;
  return u.toString();
}

/** Captures pgshift's own log lines (JSON) while fn runs. */
async function captureLogs<T>(
  fn: () => Promise<T>,
): Promise<{ result: T | undefined; error: unknown; lines: Record<string, unknown>[] }> {
  let text = '';
  const sink = new Writable({
    write(chunk: Buffer, _enc, cb): void {
      text += chunk.toString();
      cb();
    },
  });
  setLogger(createLogger({ level: 'debug', format: 'json', destination: sink }));
  let result: T | undefined;
  let error: unknown;
  try {
    result = await fn();
  } catch (err) {
    error = err;
  } finally {
    setLogger(createLogger({ level: 'silent' }));
  }
  return {
    result,
    error,
    lines: text
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l) as Record<string, unknown>),
  };
}

const session = (attempts: number, maxWaitMs: number): SessionSettings => ({
  connectTimeoutMs: 2000,
  lockTimeoutMs: 5000,
  retry: { attempts, maxWaitMs, minWaitMs: 100 },
});

describe('doctor', () => {
  it('reports both servers: versions, TLS state, role, extensions, headroom', async () => {
    const file = cfg.write(minimalConfig('copy: { parallel: 2 }\n'), 'doctor.yaml');
    const r = runCli(['doctor', '-c', file, '--json'], {
      SOURCE_DATABASE_URL: dbs.sourceUrl,
      TARGET_DATABASE_URL: dbs.targetUrl,
    });
    expect(r.status, r.stderr).toBe(0);
    const report = JSON.parse(r.stdout) as {
      ok: boolean;
      source: {
        versionNum: number;
        tls: { inUse: boolean; mode: string };
        superuser: boolean;
        walLevel: string;
        connectMs: number;
      };
      target: { versionNum: number; tls: { inUse: boolean }; canCreateSchema: boolean; maxConnections: number };
      checks: { id: string; status: string }[];
    };
    expect(report.ok).toBe(true);
    expect(Math.floor(report.source.versionNum / 10000)).toBe(15);
    expect(Math.floor(report.target.versionNum / 10000)).toBe(17);
    expect(report.source.tls).toMatchObject({ inUse: false, mode: 'disable' });
    expect(report.target.tls.inUse).toBe(false);
    expect(report.target.canCreateSchema).toBe(true);
    expect(report.source.walLevel).toBe('logical');
    expect(report.source.connectMs).toBeGreaterThanOrEqual(0);
    expect(report.checks.find((c) => c.id === 'connections')?.status).toBe('ok');

    const text = runCli(['doctor', '-c', file], {
      SOURCE_DATABASE_URL: dbs.sourceUrl,
      TARGET_DATABASE_URL: dbs.targetUrl,
    });
    expect(text.status).toBe(0);
    expect(text.stdout).toMatch(
      /Source\n\s+server\s+postgres@127\.0\.0\.1:\d+\/t_connections_\w+\n\s+version\s+PostgreSQL 15\./,
    );
    expect(text.stdout).toMatch(/Target\n[\s\S]*version\s+PostgreSQL 17\./);
    expect(text.stdout).toContain('tls         off (mode disable)');
    expect(text.stdout).toContain('Ready to migrate');
    // every check's code is in the text view too (an ok or info row as well), not only in --json
    const checks = (JSON.parse(r.stdout) as { checks: Record<string, unknown>[] }).checks;
    const coded = checks.filter((c) => typeof c.code === 'string');
    expect(coded.length).toBeGreaterThan(0);
    expect(coded.some((c) => c.status === 'ok' || c.status === 'info')).toBe(true);
    // (two runs: a message may differ, e.g. backend pids; the code ends its row)
    for (const c of coded) expect(text.stdout).toMatch(new RegExp(`^  .* \\[${String(c.code)}\\]$`, 'm'));
    // and docs/commands.md documents every field a check has
    const row = readFileSync(join(REPO, 'docs/commands.md'), 'utf8')
      .split('\n')
      .find((l) => l.startsWith('| `--json` | off | the report: `{ "source", "target", "checks"'));
    for (const key of new Set(checks.flatMap((c) => Object.keys(c)))) expect(row, key).toContain(`"${key}"`);
  });

  it('blocks when copy.parallel needs more connections than the target role may open', async () => {
    await withPg(dbs.targetUrl, async (c) => {
      await c.query(
        `CREATE ROLE ${quoteIdent('pgshift_limited')} LOGIN PASSWORD ${quoteLiteral('limited-pw-123')} CONNECTION LIMIT 5`,
      );
      await c.query(`GRANT CREATE ON DATABASE ${quoteIdent(dbs.name)} TO ${quoteIdent('pgshift_limited')}`);
    });
    const env = {
      SOURCE_DATABASE_URL: dbs.sourceUrl,
      TARGET_DATABASE_URL: withCredentials(dbs.targetUrl, 'pgshift_limited', 'limited-pw-123'),
    };
    const file = cfg.write(minimalConfig('copy: { parallel: 4 }\n'), 'doctor-headroom.yaml');
    const r = runCli(['doctor', '-c', file, '--json'], env);
    expect(r.status).toBe(1);
    const report = JSON.parse(r.stdout) as { ok: boolean; checks: { id: string; status: string; message: string }[] };
    expect(report.ok).toBe(false);
    const check = report.checks.find((c) => c.id === 'connections');
    expect(check?.status).toBe('block');
    expect(check?.message).toMatch(
      /4 connections free under role pgshift_limited's CONNECTION LIMIT 5; copy\.parallel=4 needs 6/,
    );
    expect(r.stderr).toContain('Error [DOCTOR_BLOCKED]');
    // within the limit: ready
    const ok = runCli(
      ['doctor', '-c', cfg.write(minimalConfig('copy: { parallel: 1 }\n'), 'doctor-headroom-ok.yaml'), '--json'],
      env,
    );
    expect(ok.status, ok.stderr).toBe(0);
  });

  it('fails at once, with the clear error, on a refused loopback port (nothing listens there)', async () => {
    const port = await freePort();
    // the default retry policy (8 attempts, up to 10 s apart: about 33 s) must not be spent on a loopback refusal
    const file = cfg.write(minimalConfig(), 'doctor-stopped.yaml');
    for (const host of ['127.0.0.1', 'localhost', '[::1]']) {
      const started = Date.now();
      const r = runCli(['doctor', '-c', file, '--json', '--log-format', 'json', '--log-level', 'warn'], {
        SOURCE_DATABASE_URL: `postgres://postgres:whatever-pw@${host}:${port}/nothing`,
        TARGET_DATABASE_URL: dbs.targetUrl,
      });
      const elapsed = Date.now() - started;
      expect(r.status, host).toBe(1);
      const report = JSON.parse(r.stdout) as {
        source: { reachable: boolean; error: { code: string; message: string; hint: string } };
      };
      expect(report.source.reachable).toBe(false);
      expect(report.source.error.code).toBe('CONNECT_FAILED');
      expect(report.source.error.message).toMatch(
        new RegExp(`^could not connect to source \\(postgres@[^)]*:${port}/nothing\\): .*ECONNREFUSED`),
      );
      expect(report.source.error.hint).toContain('Is the server running and reachable from here?');
      expect(r.stderr, host).not.toContain('retrying');
      expect(elapsed, host).toBeLessThan(8_000); // one attempt, not 8 over half a minute
      expect(r.stderr).toContain('Error [DOCTOR_BLOCKED]');
      expect(r.stdout + r.stderr).not.toContain('whatever-pw');
    }
  });

  it('still retries a refused port of a host off loopback, within the bound', async () => {
    const lan = await remoteLookingName();
    if (lan === undefined) return; // no host name of this machine resolves to loopback (see below)
    const port = await freePort();
    const file = cfg.write(
      minimalConfig('connection: { connect_timeout: 1s, retry: { attempts: 3, max_wait: 200ms } }\n'),
      'doctor-stopped-remote.yaml',
    );
    const started = Date.now();
    const r = runCli(['doctor', '-c', file, '--json', '--log-format', 'json', '--log-level', 'warn'], {
      // this machine's host name: not loopback to pgshift (a remote host may be starting up), but no packet leaves
      SOURCE_DATABASE_URL: `postgres://postgres:whatever-pw@${lan}:${port}/nothing`,
      TARGET_DATABASE_URL: dbs.targetUrl,
    });
    const elapsed = Date.now() - started;
    expect(r.status).toBe(1);
    const report = JSON.parse(r.stdout) as { source: { reachable: boolean; error: { code: string; message: string } } };
    expect(report.source.error.code, r.stdout).toBe('CONNECT_FAILED');
    expect(report.source.error.message).toMatch(/could not connect to source \(.*\) after 3 attempts: .*ECONNREFUSED/);
    const retries = r.stderr.split('\n').filter((l) => l.includes('connect to source failed, retrying'));
    expect(retries).toHaveLength(2);
    expect(elapsed).toBeLessThan(60_000);
  });

  it('fails at once, without retrying, on a wrong password', async () => {
    const file = cfg.write(
      minimalConfig('connection: { retry: { attempts: 8, max_wait: 10s } }\n'),
      'doctor-badpw.yaml',
    );
    const r = runCli(['doctor', '-c', file, '--json', '--log-format', 'json'], {
      SOURCE_DATABASE_URL: dbs.sourceUrl,
      TARGET_DATABASE_URL: withCredentials(dbs.targetUrl, 'postgres', 'not-the-password'),
    });
    expect(r.status).toBe(1);
    const report = JSON.parse(r.stdout) as { target: { error: { code: string; message: string } } };
    expect(report.target.error.code).toBe('CONNECT_AUTH_FAILED');
    expect(report.target.error.message).toContain('password authentication failed for user "postgres" on target');
    expect(r.stderr).not.toContain('retrying');
    expect(r.stdout + r.stderr).not.toContain('not-the-password');
  });

  it('fails at once on a database that does not exist', async () => {
    const ep = resolveEndpoint({
      side: 'target',
      url: withCredentials(dbs.targetUrl, 'postgres', new URL(dbs.targetUrl).password, 'no_such_db'),
      provider: 'postgres',
      sslMode: undefined,
      caFile: undefined,
      extensionSchema: undefined,
    });
    const { error, lines } = await captureLogs(() => connectClient(ep, session(8, 10_000)));
    expect(error).toMatchObject({ code: 'CONNECT_DATABASE_MISSING' });
    expect(lines.filter((l) => String(l.msg).includes('retrying'))).toHaveLength(0);
  });
});

describe('retries', () => {
  let late: EmbeddedPostgres | undefined;
  afterAll(async () => {
    await late?.dispose();
  });

  it('reaches a server it had reached that restarts: a refusal after a first connection is retried', async () => {
    late = new EmbeddedPostgres({ major: 17 });
    await late.init();
    await late.start();
    const ep = resolveEndpoint({
      side: 'target',
      url: late.url('postgres'),
      provider: 'postgres',
      sslMode: undefined,
      caFile: undefined,
      extensionSchema: undefined,
    });
    await (await connectClient(ep, session(1, 100))).end();
    await late.stop();
    const began = Date.now();
    const starter = (async (): Promise<void> => {
      await new Promise((r) => setTimeout(r, 2000));
      await late?.start();
    })();
    const { result, error, lines } = await captureLogs(() => connectClient(ep, session(30, 500)));
    await starter;
    expect(error).toBeUndefined();
    expect(Date.now() - began).toBeGreaterThanOrEqual(2000);
    const client = result;
    const row = await client?.query<{ app: string; st: string; lt: string }>(
      "SELECT current_setting('application_name') AS app, current_setting('statement_timeout') AS st, current_setting('lock_timeout') AS lt",
    );
    await client?.end();
    expect(row?.rows[0]).toEqual({ app: 'pgshift', st: '0', lt: '5s' });
    expect(lines.filter((l) => l.msg === 'connect to target failed, retrying').length).toBeGreaterThanOrEqual(1);
  });

  it('fails at once on a loopback server not started yet (never reached by this process)', async () => {
    const server = new EmbeddedPostgres({ major: 15 });
    await server.init();
    try {
      const ep = resolveEndpoint({
        side: 'source',
        url: server.url('postgres'),
        provider: 'postgres',
        sslMode: undefined,
        caFile: undefined,
        extensionSchema: undefined,
      });
      const began = Date.now();
      const { error, lines } = await captureLogs(() => connectClient(ep, session(30, 500)));
      expect(error).toMatchObject({ code: 'CONNECT_FAILED' });
      expect((error as Error).message).toMatch(/^could not connect to source \(.*\): .*ECONNREFUSED/);
      expect(lines.filter((l) => String(l.msg).includes('retrying'))).toHaveLength(0);
      expect(Date.now() - began).toBeLessThan(2000);
    } finally {
      await server.dispose();
    }
  });
});

describe('TLS', () => {
  let server: EmbeddedPostgres;
  let caFile: string;
  let otherCaFile: string;
  beforeAll(async () => {
    const ca = makeCa('pgshift test CA');
    const other = makeCa('some other CA');
    caFile = join(cfg.dir, 'ca.crt');
    otherCaFile = join(cfg.dir, 'other-ca.crt');
    writeFileSync(caFile, ca.certPem);
    writeFileSync(otherCaFile, other.certPem);
    server = await startEmbedded({
      major: 17,
      ssl: makeServerCert(ca, { commonName: 'localhost', dnsNames: ['localhost'] }),
    });
  });
  afterAll(async () => {
    await server?.dispose();
  });

  const at = (host: string): string => server.url('postgres').replace('127.0.0.1', host);

  it('is reached with verify-full and ca_file, and doctor reports TLS in use', async () => {
    const file = cfg.write(minimalConfig(`  ssl: { mode: verify-full, ca_file: ./ca.crt }\n`), 'tls-ok.yaml');
    const r = runCli(['doctor', '-c', file, '--json'], {
      SOURCE_DATABASE_URL: dbs.sourceUrl,
      TARGET_DATABASE_URL: at('localhost'),
    });
    expect(r.status, r.stderr).toBe(0);
    const report = JSON.parse(r.stdout) as {
      target: { tls: { inUse: boolean; mode: string; version: string } };
      checks: { id: string; side: string; status: string }[];
    };
    expect(report.target.tls).toMatchObject({ inUse: true, mode: 'verify-full' });
    expect(report.target.tls.version).toMatch(/^TLSv1\.[23]$/);
    expect(report.checks.find((c) => c.id === 'tls' && c.side === 'target')?.status).toBe('ok');
  });

  it("reads the URL's sslmode and sslrootcert the same way", async () => {
    const ep = resolveEndpoint({
      side: 'target',
      url: `${at('localhost')}?sslmode=verify-full&sslrootcert=${encodeURIComponent(caFile)}`,
      provider: 'postgres',
      sslMode: undefined,
      caFile: undefined,
      extensionSchema: undefined,
    });
    const client = await connectClient(ep, session(1, 100));
    const ssl = await client.query<{ ssl: boolean }>('SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()');
    await client.end();
    expect(ssl.rows[0]?.ssl).toBe(true);
  });

  it('is refused with a wrong hostname', async () => {
    const file = cfg.write(minimalConfig(`  ssl: { mode: verify-full, ca_file: ./ca.crt }\n`), 'tls-host.yaml');
    const r = runCli(['doctor', '-c', file, '--json'], {
      SOURCE_DATABASE_URL: dbs.sourceUrl,
      TARGET_DATABASE_URL: at('127.0.0.1'),
    });
    expect(r.status).toBe(1);
    const report = JSON.parse(r.stdout) as { target: { error: { code: string; message: string; hint: string } } };
    expect(report.target.error.code).toBe('CONNECT_TLS_FAILED');
    expect(report.target.error.message).toContain('ERR_TLS_CERT_ALTNAME_INVALID');
    expect(report.target.error.hint).toContain('not valid for host "127.0.0.1"');
  });

  it('is refused without the CA, or with another CA', async () => {
    for (const ssl of ['{ mode: verify-full }', '{ mode: verify-full, ca_file: ./other-ca.crt }']) {
      const file = cfg.write(minimalConfig(`  ssl: ${ssl}\n`), 'tls-noca.yaml');
      const r = runCli(['doctor', '-c', file, '--json'], {
        SOURCE_DATABASE_URL: dbs.sourceUrl,
        TARGET_DATABASE_URL: at('localhost'),
      });
      expect(r.status).toBe(1);
      const report = JSON.parse(r.stdout) as { target: { error: { code: string; message: string } } };
      expect(report.target.error.code).toBe('CONNECT_TLS_FAILED');
      expect(r.stderr).not.toContain('retrying');
    }
  });

  it('verify-ca checks the chain but not the host name; require encrypts without checking', async () => {
    for (const [mode, ca] of [
      ['verify-ca', caFile],
      ['require', undefined],
    ] as const) {
      const ep = resolveEndpoint({
        side: 'target',
        url: at('127.0.0.1'),
        provider: 'postgres',
        sslMode: mode,
        caFile: ca,
        extensionSchema: undefined,
      });
      const client = await connectClient(ep, session(1, 100));
      const ssl = await client.query<{ ssl: boolean }>('SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()');
      await client.end();
      expect(ssl.rows[0]?.ssl).toBe(true);
    }
  });
});

/**
 * A name of this machine that pgshift does not count as loopback but that resolves to a loopback address (the host
 * name, mapped in /etc/hosts): a server reached by it is "off loopback" to pgshift while every packet stays on
 * loopback (tests send no traffic to a network address).
 */
async function remoteLookingName(): Promise<string | undefined> {
  const name = hostname();
  if (!name || name === 'localhost' || name.endsWith('.localhost')) return undefined;
  try {
    const { address } = await lookup(name, { family: 4 });
    return address.startsWith('127.') ? name : undefined;
  } catch {
    return undefined;
  }
}

const LAN = await remoteLookingName();
if (LAN === undefined)
  console.warn(
    'connections: this machine has no host name that resolves to loopback; the off-loopback TLS tests are skipped',
  );

/**
 * A source that is not on loopback (issue 11, item 7): a real server listening on this machine's network address,
 * so pgshift sees an ordinary remote host (no loopback rule applies) with a self-signed certificate, as a local
 * server commonly has. Without an ssl block it is verified (verify-full) and refused with the block to write.
 */
describe.skipIf(LAN === undefined)("TLS off loopback (a server reached by this machine's host name)", () => {
  const dir = configDir('connections-off-loopback'); // its own folder: ca_file ./ca.crt is this server's certificate
  let server: EmbeddedPostgres;
  let certFile: string;
  let sourceUrl: string;
  const offConfig = (sourceSsl?: string): string =>
    `version: 1\nname: tls-off-loopback\nsource:\n  url: \${SOURCE_DATABASE_URL}\n${sourceSsl ? `  ssl: ${sourceSsl}\n` : ''}target:\n  url: \${TARGET_DATABASE_URL}\n`;
  const doctor = (file: string, url = sourceUrl): { status: number | null; report: DoctorJson; stderr: string } => {
    const r = runCli(['doctor', '-c', file, '--json'], {
      SOURCE_DATABASE_URL: url,
      TARGET_DATABASE_URL: dbs.targetUrl,
    });
    return { status: r.status, report: JSON.parse(r.stdout) as DoctorJson, stderr: r.stderr };
  };
  interface DoctorJson {
    ok: boolean;
    source: {
      reachable: boolean;
      tls?: { inUse: boolean; mode: string };
      error?: { code: string; message: string; hint: string };
    };
    checks: { id: string; code?: string; side: string; status: string; message: string; hint?: string }[];
  }

  beforeAll(async () => {
    const lan = LAN as string;
    const self = makeSelfSignedCert({ commonName: lan, dnsNames: [lan], ipAddresses: [] });
    certFile = join(dir.dir, 'ca.crt'); // the certificate itself is the CA of a self-signed one
    server = new EmbeddedPostgres({ major: 17, ssl: self });
    await server.start();
    sourceUrl = server.url('postgres').replace('127.0.0.1', lan);
    writeFileSync(certFile, self.certPem);
  });
  afterAll(async () => {
    await server?.dispose();
    dir.remove();
  });

  it('is not loopback to pgshift', () => {
    const ep = resolveEndpoint({
      side: 'source',
      url: sourceUrl,
      provider: 'postgres',
      sslMode: undefined,
      caFile: undefined,
      extensionSchema: undefined,
    });
    expect([ep.loopback, ep.sslMode, ep.sslModeFrom]).toEqual([false, 'verify-full', 'default']);
  });

  it('without an ssl block: verify-full, and the self-signed certificate is refused with the exact block to write', () => {
    const file = dir.write(offConfig(), 'off-default.yaml');
    const { status, report, stderr } = doctor(file);
    expect(status).toBe(1);
    expect(report.source.error?.code).toBe('CONNECT_TLS_FAILED');
    expect(report.source.error?.message).toMatch(
      /verify-full, the default for a host that is not on this machine\): .*self-signed/,
    );
    expect(report.source.error?.hint).toContain('`source.ssl: { mode: verify-full, ca_file: ./ca.crt }`');
    expect(report.source.error?.hint).toContain('`source.ssl: { mode: require }`');
    expect(stderr).not.toContain('retrying'); // a TLS failure fails at once
    // plan stops with the same error, before anything else
    const plan = runCli(['plan', '-c', file], { SOURCE_DATABASE_URL: sourceUrl, TARGET_DATABASE_URL: dbs.targetUrl });
    expect(plan.status).toBe(1);
    expect(plan.stderr).toContain('CONNECT_TLS_FAILED');
    expect(plan.stderr).toContain('source.ssl: { mode: verify-full, ca_file: ./ca.crt }');
  });

  it('with the block the error names (ca_file = the certificate): verified, doctor says so', () => {
    const { status, report, stderr } = doctor(
      dir.write(offConfig('{ mode: verify-full, ca_file: ./ca.crt }'), 'off-verified.yaml'),
    );
    expect(status, stderr).toBe(0);
    expect(report.source.tls).toMatchObject({ inUse: true, mode: 'verify-full' });
    expect(report.checks.find((c) => c.id === 'tls' && c.side === 'source')).toMatchObject({
      code: 'TLS_VERIFIED',
      status: 'ok',
    });
  });

  it('an explicit weaker mode connects, and doctor and plan name it as a finding', () => {
    const file = dir.write(offConfig('{ mode: require }'), 'off-require.yaml');
    const { status, report, stderr } = doctor(file);
    expect(status, stderr).toBe(0);
    expect(report.source.tls).toMatchObject({ inUse: true, mode: 'require' });
    const row = report.checks.find((c) => c.id === 'tls' && c.side === 'source');
    expect(row).toMatchObject({ code: 'TLS_UNVERIFIED', status: 'warn' });
    expect(row?.message).toContain('source.ssl.mode: require');
    const plan = runCli(['plan', '-c', file, '--json'], {
      SOURCE_DATABASE_URL: sourceUrl,
      TARGET_DATABASE_URL: dbs.targetUrl,
    });
    expect(plan.status, plan.stderr).toBe(0);
    const findings = (JSON.parse(plan.stdout) as { findings: { code: string; severity: string; message: string }[] })
      .findings;
    expect(findings).toContainEqual(
      expect.objectContaining({
        code: 'TLS_UNVERIFIED',
        severity: 'warning',
        message: expect.stringMatching(/^source: TLS require \(source\.ssl\.mode: require/),
      }),
    );
  });

  it("a URL's ?sslmode=require does not weaken it: refused, with the block to write instead", () => {
    const file = dir.write(offConfig(), 'off-url-require.yaml');
    const r = runCli(['validate', '-c', file], {
      SOURCE_DATABASE_URL: `${sourceUrl}?sslmode=require`,
      TARGET_DATABASE_URL: dbs.targetUrl,
    });
    expect(r.status).toBe(1);
    expect(r.stdout + r.stderr).toMatch(
      /off-url-require\.yaml:4:8: source\.url says sslmode=require, weaker than verify-full/,
    );
    expect(r.stdout + r.stderr).toContain('`source.ssl: { mode: require }`');
    // written in the config it is accepted (and warned, as above); a stronger URL mode is fine as it is
    expect(
      runCli(['validate', '-c', dir.write(offConfig('{ mode: require }'), 'off-url-explicit.yaml')], {
        SOURCE_DATABASE_URL: `${sourceUrl}?sslmode=require`,
        TARGET_DATABASE_URL: dbs.targetUrl,
      }).status,
    ).toBe(0);
    const strong = doctor(file, `${sourceUrl}?sslmode=verify-full&sslrootcert=${encodeURIComponent(certFile)}`);
    expect(strong.status, strong.stderr).toBe(0);
    expect(strong.report.source.tls).toMatchObject({ inUse: true, mode: 'verify-full' });
  });

  it('the cutover health check of the application URL verifies the same way', async () => {
    const appUrl = sourceUrl; // any server off loopback will do: the check connects and runs SELECT 1
    const unverified = await checkApplicationUrl(appUrl, { tables: [], timeoutMs: 5000 });
    expect(unverified.ok).toBe(false);
    expect(unverified.problems.join(' ')).toMatch(/CONNECT_TLS_FAILED/);
    expect(unverified.problems.join(' ')).toMatch(/self-signed/);
    // the app URL's own sslmode=require does not weaken the check
    expect((await checkApplicationUrl(`${appUrl}?sslmode=require`, { tables: [], timeoutMs: 5000 })).ok).toBe(false);
    // the target's CA file verifies it; an explicit target.ssl.mode: require accepts it
    const verified = await checkApplicationUrl(appUrl, { tables: [], timeoutMs: 5000, caFile: certFile });
    expect(verified.problems).toEqual([]);
    expect(verified.ok).toBe(true);
    expect(
      (await checkApplicationUrl(`${appUrl}?sslmode=require`, { tables: [], timeoutMs: 5000, sslMode: 'require' })).ok,
    ).toBe(true);
    // no TLS is never taken over for a host off loopback: still verified (and refused here)
    expect((await checkApplicationUrl(appUrl, { tables: [], timeoutMs: 5000, sslMode: 'disable' })).ok).toBe(false);
  });

  it('a server without TLS: refused, told to turn TLS on and which block to write; disable is a blocker off loopback', async () => {
    await withPg(server.url('postgres'), async (c) => {
      await c.query('ALTER SYSTEM SET ssl = off');
      await c.query('SELECT pg_reload_conf()');
    });
    try {
      await expect
        .poll(
          async () =>
            withPg(server.url('postgres'), async (c) => (await c.query<{ ssl: string }>('SHOW ssl')).rows[0]?.ssl),
          { timeout: 10_000 },
        )
        .toBe('off');
      const { status, report } = doctor(dir.write(offConfig(), 'off-notls.yaml'));
      expect(status).toBe(1);
      expect(report.source.error?.code).toBe('CONNECT_TLS_FAILED');
      expect(report.source.error?.hint).toContain('Turn TLS on in the server');
      expect(report.source.error?.hint).toContain('`source.ssl: { mode: verify-full, ca_file: ./ca.crt }`');
      const off = doctor(dir.write(offConfig('{ mode: disable }'), 'off-disable.yaml'));
      expect(off.status).toBe(1);
      expect(off.report.checks.find((c) => c.id === 'tls' && c.side === 'source')).toMatchObject({
        code: 'TLS_DISABLED',
        status: 'block',
      });
    } finally {
      await withPg(server.url('postgres'), async (c) => {
        await c.query('ALTER SYSTEM RESET ssl');
        await c.query('SELECT pg_reload_conf()');
      });
    }
  });
});

describe('secrets', () => {
  const PASSWORD = 'Kx9#distinctive-S3cret!';
  let sourceUrl: string;
  let targetUrl: string;
  beforeAll(async () => {
    for (const url of [dbs.sourceUrl, dbs.targetUrl]) {
      await withPg(url, (c) =>
        c
          .query(`CREATE ROLE ${quoteIdent('pgshift_secret_user')} LOGIN PASSWORD ${quoteLiteral(PASSWORD)}`)
          .catch(() => undefined),
      );
      await withPg(url, (c) =>
        c.query(`GRANT CREATE ON DATABASE ${quoteIdent(dbs.name)} TO ${quoteIdent('pgshift_secret_user')}`),
      );
    }
    sourceUrl = withCredentials(dbs.sourceUrl, 'pgshift_secret_user', PASSWORD);
    targetUrl = withCredentials(dbs.targetUrl, 'pgshift_secret_user', PASSWORD);
  });

  it('never appear in any output, on success or failure, text or JSON, at any log level', async () => {
    const file = cfg.write(minimalConfig('connection: { retry: { attempts: 2, max_wait: 100ms } }\n'), 'secrets.yaml');
    const stopped = `postgres://pgshift_secret_user:${encodeURIComponent(PASSWORD)}@127.0.0.1:${await freePort()}/x`;
    // a refused loopback port fails at once; off loopback (this machine's host name) it is retried, and logged
    const lan = await remoteLookingName();
    const retried = lan ? stopped.replace('@127.0.0.1:', `@${lan}:`) : stopped;
    const runs = [
      runCli(['validate', '-c', file, '--json'], { SOURCE_DATABASE_URL: sourceUrl, TARGET_DATABASE_URL: targetUrl }),
      runCli(['validate', '-c', file], { SOURCE_DATABASE_URL: sourceUrl, TARGET_DATABASE_URL: sourceUrl }), // same database: an error
      runCli(['doctor', '-c', file, '--log-level', 'debug'], {
        SOURCE_DATABASE_URL: sourceUrl,
        TARGET_DATABASE_URL: targetUrl,
      }),
      runCli(['doctor', '-c', file, '--json', '--log-format', 'json', '--log-level', 'trace'], {
        SOURCE_DATABASE_URL: sourceUrl,
        TARGET_DATABASE_URL: targetUrl,
      }),
      runCli(['doctor', '-c', file, '--log-level', 'debug'], {
        SOURCE_DATABASE_URL: stopped,
        TARGET_DATABASE_URL: targetUrl.replace(encodeURIComponent(PASSWORD), encodeURIComponent(`${PASSWORD}x`)),
      }),
      runCli(['doctor', '-c', file, '--json', '--log-format', 'json', '--log-level', 'debug'], {
        SOURCE_DATABASE_URL: retried,
        TARGET_DATABASE_URL: targetUrl,
      }),
      runCli(['plan', '-c', file, '--json', '--log-level', 'debug'], {
        SOURCE_DATABASE_URL: sourceUrl,
        TARGET_DATABASE_URL: targetUrl,
      }),
    ];
    expect(runs[2]?.status, runs[2]?.stderr).toBe(0);
    expect(runs[4]?.status).toBe(1);
    if (lan) expect(runs[5]?.stderr).toContain('retrying'); // the failure paths really ran
    expect(runs[5]?.stdout).toContain('ECONNREFUSED');
    for (const r of runs) {
      const all = r.stdout + r.stderr;
      for (const form of [PASSWORD, encodeURIComponent(PASSWORD), 'distinctive-S3cret'])
        expect(all).not.toContain(form);
    }
  });
});
