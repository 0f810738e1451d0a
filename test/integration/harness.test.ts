/**
 * Proves the test harness itself: the shared servers, per-file databases, TLS certificates,
 * a server that starts after the client began connecting, and password checks. All against
 * real PostgreSQL servers.
 */
import fs from 'node:fs';

import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { makeCa, makeServerCert } from '../support/certs.js';
import type { CertKeyPair } from '../support/certs.js';
import { freshDatabases, quoteLiteral, testServers, withPg } from '../support/databases.js';
import type { FreshDatabases } from '../support/databases.js';
import { EmbeddedPostgres, embeddedBinariesAvailable, startEmbedded } from '../support/embedded.js';
import { fixturesDir, requireFixtures } from '../support/fixtures.js';

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

async function versionNum(url: string): Promise<number> {
  return withPg(url, async (c) => {
    const { rows } = await c.query<{ v: string }>("SELECT current_setting('server_version_num') AS v");
    return Number(rows[0]?.v);
  });
}

async function databaseExists(adminUrl: string, name: string): Promise<boolean> {
  return withPg(
    adminUrl,
    async (c) => (await c.query('SELECT 1 FROM pg_database WHERE datname = $1', [name])).rowCount === 1,
  );
}

/** Connect with a pg Client config; resolves to the client or rejects with the connection error. */
async function connect(config: pg.ClientConfig): Promise<pg.Client> {
  const client = new pg.Client({ connectionTimeoutMillis: 5000, ...config });
  client.on('error', () => undefined);
  try {
    await client.connect();
    return client;
  } catch (err) {
    await client.end().catch(() => undefined);
    throw err;
  }
}

/** The error a connection attempt fails with (fails the test if it succeeds). */
async function connectError(config: pg.ClientConfig): Promise<Error & { code?: string }> {
  try {
    const client = await connect(config);
    await client.end();
  } catch (err) {
    return err as Error & { code?: string };
  }
  throw new Error('the connection unexpectedly succeeded');
}

function withPassword(url: string, password: string): string {
  const u = new URL(url);
  u.password = encodeURIComponent(password);
  return u.toString();
}

describe('shared servers', () => {
  const servers = testServers();

  it('serve a source and a target of the expected majors', async () => {
    const [source, target] = await Promise.all([
      versionNum(servers.source.adminUrl),
      versionNum(servers.target.adminUrl),
    ]);
    expect(source).toBe(servers.source.versionNum);
    expect(target).toBe(servers.target.versionNum);
    if (servers.backend === 'env') {
      expect(Math.floor(source / 10000)).not.toBe(Math.floor(target / 10000));
    } else {
      expect(Math.floor(source / 10000)).toBe(15);
      expect(Math.floor(target / 10000)).toBe(17);
      expect(servers.source.major).toBe(15);
      expect(servers.target.major).toBe(17);
    }
  });

  it('run with wal_level=logical', async () => {
    for (const url of [servers.source.adminUrl, servers.target.adminUrl]) {
      const level = await withPg(
        url,
        async (c) => (await c.query<{ wal_level: string }>('SHOW wal_level')).rows[0]?.wal_level,
      );
      expect(level).toBe('logical');
    }
  });

  it.skipIf(servers.backend === 'env')('reject a wrong password with SQLSTATE 28P01', async () => {
    for (const url of [servers.source.adminUrl, servers.target.adminUrl]) {
      const err = await connectError({ connectionString: withPassword(url, 'not-the-password') });
      expect(err.code).toBe('28P01');
    }
  });
});

describe('freshDatabases', () => {
  let dbs: FreshDatabases;

  beforeAll(async () => {
    dbs = await freshDatabases('Harness Self-Test "quotes" & ünïcode');
  });

  afterAll(async () => {
    await dbs?.drop();
  });

  it('creates a sanitized, unique database on both servers', async () => {
    expect(dbs.name).toMatch(/^t_harness_self_test_quotes_n_code_[0-9a-f]{8}$/);
    expect(await databaseExists(dbs.sourceAdminUrl, dbs.name)).toBe(true);
    expect(await databaseExists(dbs.targetAdminUrl, dbs.name)).toBe(true);
    for (const url of [dbs.sourceUrl, dbs.targetUrl]) {
      const row = await withPg(
        url,
        async (c) =>
          (
            await c.query<{ db: string; su: boolean }>(
              "SELECT current_database() AS db, current_setting('is_superuser')::bool AS su",
            )
          ).rows[0],
      );
      expect(row).toEqual({ db: dbs.name, su: true });
    }
  });

  it('drop() removes both, even with sessions, a subscription and a replication slot in them', async () => {
    const other = await freshDatabases('harness drop');
    const busySource = await connect({ connectionString: other.sourceUrl });
    const busyTarget = await connect({ connectionString: other.targetUrl });
    try {
      await withPg(other.sourceUrl, async (c) => {
        await c.query('CREATE TABLE t (id int PRIMARY KEY)');
        await c.query('CREATE PUBLICATION p FOR TABLE t');
      });
      await withPg(other.targetUrl, async (c) => {
        await c.query('CREATE TABLE t (id int PRIMARY KEY)');
        await c.query(
          `CREATE SUBSCRIPTION ${other.name} CONNECTION ${quoteLiteral(other.sourceUrlFromTarget)} PUBLICATION p`,
        );
      });
      const slotsBefore = await withPg(
        other.sourceAdminUrl,
        async (c) => (await c.query('SELECT 1 FROM pg_replication_slots WHERE database = $1', [other.name])).rowCount,
      );
      expect(slotsBefore).toBeGreaterThanOrEqual(1);
      await other.drop();
      expect(await databaseExists(other.sourceAdminUrl, other.name)).toBe(false);
      expect(await databaseExists(other.targetAdminUrl, other.name)).toBe(false);
      const slots = await withPg(
        other.sourceAdminUrl,
        async (c) => (await c.query('SELECT 1 FROM pg_replication_slots WHERE database = $1', [other.name])).rowCount,
      );
      expect(slots).toBe(0);
      await other.drop(); // idempotent
    } finally {
      await busySource.end().catch(() => undefined);
      await busyTarget.end().catch(() => undefined);
    }
  });
});

describe.skipIf(!embeddedBinariesAvailable(17))('TLS server with certificates from certs.ts', () => {
  let ca: CertKeyPair;
  let server: EmbeddedPostgres;

  beforeAll(async () => {
    ca = makeCa('pgshift test CA');
    const cert = makeServerCert(ca, { commonName: 'localhost', dnsNames: ['localhost'] });
    server = await startEmbedded({ major: 17, ssl: cert, password: 'tls-pw' });
  });

  afterAll(async () => {
    await server?.dispose();
  });

  const base = (): pg.ClientConfig => ({
    port: server.port,
    user: 'postgres',
    password: 'tls-pw',
    database: 'postgres',
  });

  it('accepts verify-full TLS for host localhost', async () => {
    const client = await connect({
      ...base(),
      host: 'localhost',
      ssl: { ca: ca.certPem, rejectUnauthorized: true, servername: 'localhost' },
    });
    try {
      const { rows } = await client.query<{ ssl: boolean }>('SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()');
      expect(rows[0]?.ssl).toBe(true);
    } finally {
      await client.end();
    }
  });

  it('rejects host 127.0.0.1: the certificate has no IP subjectAltName', async () => {
    const err = await connectError({ ...base(), host: '127.0.0.1', ssl: { ca: ca.certPem, rejectUnauthorized: true } });
    expect(err.code).toBe('ERR_TLS_CERT_ALTNAME_INVALID');
  });

  it('rejects the certificate without the CA', async () => {
    const err = await connectError({
      ...base(),
      host: 'localhost',
      ssl: { rejectUnauthorized: true, servername: 'localhost' },
    });
    expect(err.code).toBe('UNABLE_TO_VERIFY_LEAF_SIGNATURE');
  });

  it('still accepts plain connections, and rejects a wrong password with 28P01', async () => {
    const client = await connect({ ...base(), host: '127.0.0.1', ssl: false });
    try {
      const { rows } = await client.query<{ ssl: boolean }>('SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()');
      expect(rows[0]?.ssl).toBe(false);
    } finally {
      await client.end();
    }
    const err = await connectError({ ...base(), host: '127.0.0.1', password: 'wrong' });
    expect(err.code).toBe('28P01');
  });
});

describe.skipIf(!embeddedBinariesAvailable(15))('a server that starts late', () => {
  let server: EmbeddedPostgres;

  afterAll(async () => {
    await server?.dispose();
  });

  it('is reached by a retry loop that began 2 s before the server started', async () => {
    server = new EmbeddedPostgres({ major: 15 });
    await server.init();
    const url = server.url();
    expect(url).toMatch(/^postgresql:\/\/postgres:pgshift-test-pw@127\.0\.0\.1:\d+\/postgres$/);

    const t0 = Date.now();
    const starting = sleep(2000).then(() => server.start());
    const failures: string[] = [];
    let client: pg.Client | undefined;
    while (!client) {
      try {
        client = await connect({ connectionString: url, connectionTimeoutMillis: 1000 });
      } catch (err) {
        failures.push((err as { code?: string }).code ?? (err as Error).message);
        if (Date.now() - t0 > 30_000) throw err;
        await sleep(100);
      }
    }
    const elapsed = Date.now() - t0;
    try {
      const { rows } = await client.query<{ one: number }>('SELECT 1 AS one');
      expect(rows[0]?.one).toBe(1);
    } finally {
      await client.end();
    }
    await starting;
    expect(elapsed).toBeGreaterThanOrEqual(1900);
    expect(failures.length).toBeGreaterThan(5);
    // before the postmaster listens: refused; while it starts up: 57P03 (the database system is starting up)
    expect(failures.every((f) => f === 'ECONNREFUSED' || f === '57P03')).toBe(true);
  });

  it('survives kill() (immediate stop) and restarts with crash recovery', async () => {
    await withPg(server.url(), (c) => c.query('CREATE TABLE survived (x int); INSERT INTO survived VALUES (42)'));
    await server.kill();
    expect(server.running).toBe(false);
    await expect(connect({ connectionString: server.url() })).rejects.toMatchObject({ code: 'ECONNREFUSED' });
    await server.start();
    const x = await withPg(
      server.url(),
      async (c) => (await c.query<{ x: number }>('SELECT x FROM survived')).rows[0]?.x,
    );
    expect(x).toBe(42);
    expect(fs.readFileSync(server.logFile, 'utf8')).toMatch(/not properly shut down|automatic recovery/);
  });

  it('dispose() stops the server and removes its directory', async () => {
    const dir = server.baseDir;
    const url = server.url();
    await server.dispose();
    expect(fs.existsSync(dir)).toBe(false);
    await expect(connect({ connectionString: url })).rejects.toMatchObject({ code: 'ECONNREFUSED' });
  });
});

describe('fixtures', () => {
  it('finds the shared fixtures or explains how to point at them', () => {
    const dir = fixturesDir();
    if (dir) {
      expect(requireFixtures()).toBe(dir);
    } else {
      expect(() => requireFixtures()).toThrow(/PGSHIFT_FIXTURES_DIR/);
    }
    const saved = process.env.PGSHIFT_FIXTURES_DIR;
    process.env.PGSHIFT_FIXTURES_DIR = '/nonexistent/pgshift-fixtures';
    try {
      expect(() => requireFixtures()).toThrow(/fixtures are absent.*PGSHIFT_FIXTURES_DIR/);
    } finally {
      if (saved === undefined) delete process.env.PGSHIFT_FIXTURES_DIR;
      else process.env.PGSHIFT_FIXTURES_DIR = saved;
    }
  });
});
