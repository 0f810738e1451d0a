/**
 * vitest globalSetup: one source server (PostgreSQL 15) and one target server (PostgreSQL 17)
 * for the whole run, handed to the tests with provide('pgSource' | 'pgTarget' | 'pgBackend').
 *
 * Choice, first match wins:
 *   1. env:      PGSHIFT_TEST_SOURCE_URL and PGSHIFT_TEST_TARGET_URL (superuser URLs);
 *                optional PGSHIFT_TEST_SOURCE_URL_FROM_TARGET (the source as the target server reaches it)
 *   2. docker:   testcontainers postgres:15 / postgres:17, when a Docker engine answers
 *   3. embedded: node_modules/pg15-bin and pg17-bin run from os.tmpdir()
 * PGSHIFT_TEST_BACKEND=embedded|docker skips the detection (env always needs both URLs).
 */
import fs from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';

import type { StartedTestContainer } from 'testcontainers';
import type { TestProject } from 'vitest/node';

import type { PgBackend, PgServerInfo } from './context.js';
import { DEFAULT_PASSWORD, EmbeddedPostgres, sweepOrphanedServers } from './embedded.js';
import { withPg } from './sql.js';

const SOURCE_MAJOR = 15;
const TARGET_MAJOR = 17;
const DOCKER_PROBE_MS = 800;

/** Settings for docker servers; the embedded ones get the same from embedded.ts. */
const SERVER_SETTINGS: Record<string, string> = {
  fsync: 'off',
  full_page_writes: 'off',
  wal_level: 'logical',
  max_connections: '100',
  shared_buffers: '128MB',
  max_wal_senders: '40',
  max_replication_slots: '40',
  max_worker_processes: '32',
  max_logical_replication_workers: '16',
};

interface Started {
  backend: PgBackend;
  source: PgServerInfo;
  target: PgServerInfo;
  detail: string;
  teardown: () => Promise<void>;
}

async function describe(url: string): Promise<{ major: number; versionNum: number; version: string }> {
  return withPg(url, async (c) => {
    const { rows } = await c.query<{ n: string; v: string }>(
      "SELECT current_setting('server_version_num') AS n, current_setting('server_version') AS v",
    );
    const versionNum = Number(rows[0]?.n);
    return { versionNum, major: Math.floor(versionNum / 10000), version: rows[0]?.v ?? '?' };
  });
}

function redact(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return '(unparsable URL)';
  }
}

/* ---------------------------------------------------------------------------------------------- */

async function fromEnv(sourceUrl: string, targetUrl: string): Promise<Started> {
  const [s, t] = await Promise.all([describe(sourceUrl), describe(targetUrl)]);
  const fromTarget = process.env.PGSHIFT_TEST_SOURCE_URL_FROM_TARGET;
  return {
    backend: 'env',
    source: {
      adminUrl: sourceUrl,
      major: s.major,
      versionNum: s.versionNum,
      ...(fromTarget ? { adminUrlFromTarget: fromTarget } : {}),
    },
    target: { adminUrl: targetUrl, major: t.major, versionNum: t.versionNum },
    detail: `source ${redact(sourceUrl)} (PostgreSQL ${s.version}), target ${redact(targetUrl)} (PostgreSQL ${t.version})`,
    teardown: async () => undefined,
  };
}

/* ---------------------------------------------------------------------------------------------- */

type DockerEndpoint = { socketPath: string } | { host: string; port: number };

function dockerEndpoints(): DockerEndpoint[] {
  const dockerHost = process.env.DOCKER_HOST;
  if (dockerHost) {
    if (dockerHost.startsWith('unix://')) return [{ socketPath: dockerHost.slice('unix://'.length) }];
    try {
      const u = new URL(dockerHost.replace(/^tcp:/, 'http:'));
      return [{ host: u.hostname, port: Number(u.port) || 2375 }];
    } catch {
      return [];
    }
  }
  const home = os.homedir();
  const uid = typeof process.getuid === 'function' ? process.getuid() : -1;
  const sockets = [
    '/var/run/docker.sock',
    process.env.XDG_RUNTIME_DIR ? path.join(process.env.XDG_RUNTIME_DIR, 'docker.sock') : '',
    uid >= 0 ? `/run/user/${uid}/docker.sock` : '',
    path.join(home, '.docker', 'run', 'docker.sock'),
    path.join(home, '.docker', 'desktop', 'docker.sock'),
    path.join(home, '.colima', 'default', 'docker.sock'),
  ];
  return [...new Set(sockets.filter((s) => s && fs.existsSync(s)))].map((socketPath) => ({ socketPath }));
}

/** GET /_ping on one endpoint; true only for a 200 within the timeout. */
function ping(endpoint: DockerEndpoint): Promise<boolean> {
  return new Promise((resolve) => {
    if (process.env.DOCKER_TLS_VERIFY && 'host' in endpoint) {
      // a TLS engine: just check that something listens; testcontainers does the rest
      const sock = net.connect(endpoint.port, endpoint.host);
      sock.setTimeout(DOCKER_PROBE_MS, () => (sock.destroy(), resolve(false)));
      sock.once('connect', () => (sock.destroy(), resolve(true)));
      sock.once('error', () => resolve(false));
      return;
    }
    const req = http.request({ ...endpoint, path: '/_ping', method: 'GET', timeout: DOCKER_PROBE_MS }, (res) => {
      res.resume();
      resolve(res.statusCode === 200);
    });
    req.once('timeout', () => {
      req.destroy();
      resolve(false);
    });
    req.once('error', () => resolve(false));
    req.end();
  });
}

/** Cheap check for a Docker engine (well under a second when there is none). */
async function dockerAnswers(): Promise<boolean> {
  const endpoints = dockerEndpoints();
  if (endpoints.length === 0) return false;
  const answers = await Promise.all(endpoints.map(ping));
  if (!answers.some(Boolean)) return false;
  // confirm with testcontainers' own strategy resolution, bounded in time
  try {
    const { getContainerRuntimeClient } = await import('testcontainers');
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error('timeout')), 5000);
    });
    await Promise.race([getContainerRuntimeClient(), timeout]).finally(() => clearTimeout(timer));
    return true;
  } catch {
    return false;
  }
}

async function fromDocker(): Promise<Started> {
  const { GenericContainer, Network, Wait } = await import('testcontainers');
  const password = DEFAULT_PASSWORD;
  const network = await new Network().start();
  const command = ['postgres', ...Object.entries(SERVER_SETTINGS).flatMap(([k, v]) => ['-c', `${k}=${v}`])];
  const start = (major: number, alias: string): Promise<StartedTestContainer> =>
    new GenericContainer(`postgres:${major}`)
      .withEnvironment({ POSTGRES_PASSWORD: password })
      .withCommand(command)
      .withExposedPorts(5432)
      .withNetwork(network)
      .withNetworkAliases(alias)
      // the entrypoint starts a temporary server first: wait for the second "ready"
      .withWaitStrategy(Wait.forLogMessage(/database system is ready to accept connections/, 2))
      .withStartupTimeout(180_000)
      .start();
  const results = await Promise.allSettled([
    start(SOURCE_MAJOR, 'pgshift-source'),
    start(TARGET_MAJOR, 'pgshift-target'),
  ]);
  const containers = results.flatMap((r) => (r.status === 'fulfilled' ? [r.value] : []));
  const teardown = async (): Promise<void> => {
    await Promise.allSettled(containers.map((c) => c.stop()));
    await network.stop().catch(() => undefined);
  };
  const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (failed) {
    await teardown();
    throw failed.reason;
  }
  const [src, tgt] = containers as [StartedTestContainer, StartedTestContainer];
  const url = (c: StartedTestContainer): string =>
    `postgresql://postgres:${encodeURIComponent(password)}@${c.getHost()}:${c.getMappedPort(5432)}/postgres`;
  const sourceUrl = url(src);
  const targetUrl = url(tgt);
  try {
    const [s, t] = await Promise.all([describe(sourceUrl), describe(targetUrl)]);
    return {
      backend: 'docker',
      source: {
        adminUrl: sourceUrl,
        major: s.major,
        versionNum: s.versionNum,
        adminUrlFromTarget: `postgresql://postgres:${encodeURIComponent(password)}@pgshift-source:5432/postgres`,
      },
      target: { adminUrl: targetUrl, major: t.major, versionNum: t.versionNum },
      detail: `postgres:${SOURCE_MAJOR} (${s.version}) at ${redact(sourceUrl)}, postgres:${TARGET_MAJOR} (${t.version}) at ${redact(targetUrl)}`,
      teardown,
    };
  } catch (err) {
    await teardown();
    throw err;
  }
}

/* ---------------------------------------------------------------------------------------------- */

async function fromEmbedded(): Promise<Started> {
  sweepOrphanedServers();
  const source = new EmbeddedPostgres({ major: SOURCE_MAJOR });
  const target = new EmbeddedPostgres({ major: TARGET_MAJOR });
  const teardown = async (): Promise<void> => {
    await Promise.allSettled([source.dispose(), target.dispose()]);
  };
  try {
    await Promise.all([source.start(), target.start()]);
    const [s, t] = await Promise.all([describe(source.url()), describe(target.url())]);
    return {
      backend: 'embedded',
      source: { adminUrl: source.url(), major: s.major, versionNum: s.versionNum },
      target: { adminUrl: target.url(), major: t.major, versionNum: t.versionNum },
      detail:
        `PostgreSQL ${s.version} at 127.0.0.1:${source.port} (${source.baseDir}), ` +
        `PostgreSQL ${t.version} at 127.0.0.1:${target.port} (${target.baseDir})`,
      teardown,
    };
  } catch (err) {
    await teardown();
    throw err;
  }
}

/* ---------------------------------------------------------------------------------------------- */

async function choose(): Promise<Started> {
  const sourceUrl = process.env.PGSHIFT_TEST_SOURCE_URL;
  const targetUrl = process.env.PGSHIFT_TEST_TARGET_URL;
  if (sourceUrl || targetUrl) {
    if (!sourceUrl || !targetUrl) {
      throw new Error('Set both PGSHIFT_TEST_SOURCE_URL and PGSHIFT_TEST_TARGET_URL (superuser URLs), or neither.');
    }
    return fromEnv(sourceUrl, targetUrl);
  }
  const forced = process.env.PGSHIFT_TEST_BACKEND;
  if (forced && forced !== 'docker' && forced !== 'embedded') {
    throw new Error(`PGSHIFT_TEST_BACKEND must be "docker" or "embedded" (got "${forced}").`);
  }
  if (forced === 'docker' || (forced === undefined && (await dockerAnswers()))) return fromDocker();
  const started = await fromEmbedded();
  started.detail += forced ? ' (PGSHIFT_TEST_BACKEND=embedded)' : ' (no Docker engine answered)';
  return started;
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const t0 = Date.now();
  const started = await choose();
  project.provide('pgBackend', started.backend);
  project.provide('pgSource', started.source);
  project.provide('pgTarget', started.target);
  console.log(
    `[pgshift tests] database servers: ${started.backend} - ${started.detail} - ready in ${Date.now() - t0} ms`,
  );
  return async () => {
    await started.teardown();
  };
}
