/**
 * The pure preflight judgements (src/preflight) over hand-written facts: every TLS mode, the IPv6-only Supabase
 * host, extensions (missing, superuser-only, trusted, supautils, installed, deprecated), headroom by capacity and
 * by live counts, statement timeout, and how items become plan findings.
 */
import { describe, expect, it } from 'vitest';
import { connectError } from '../../src/db/connect-error.js';
import { resolveEndpoint } from '../../src/db/endpoint.js';
import { PgshiftError } from '../../src/errors/index.js';
import { connectionItems } from '../../src/preflight/connections.js';
import { extensionItems } from '../../src/preflight/extensions.js';
import type { EndpointFacts, ServerFacts, SideFacts } from '../../src/preflight/facts.js';
import { connectFailure } from '../../src/db/network-failure.js';
import { preflight, preflightFindings } from '../../src/preflight/index.js';
import { networkItems } from '../../src/preflight/network.js';
import { statementTimeoutItems } from '../../src/preflight/statement-timeout.js';
import { tlsItems } from '../../src/preflight/tls.js';

const ep = (o: Partial<EndpointFacts> = {}): EndpointFacts => ({
  side: 'target',
  provider: 'postgres',
  host: 'db.example.net',
  port: 5432,
  sslMode: 'verify-full',
  caFile: true,
  loopback: false,
  ...o,
});

const server = (o: Partial<ServerFacts> = {}): ServerFacts => ({
  versionNum: 170000,
  role: 'postgres',
  superuser: false,
  tlsInUse: true,
  installedExtensions: [],
  availableExtensions: [],
  privilegedExtensions: null,
  connections: { maxConnections: 60, reserved: 3, inUse: 10, roleLimit: null, roleInUse: 1 },
  statementTimeout: { serverDefault: '0', session: '0' },
  ...o,
});

const ext = (
  name: string,
  o: Partial<ServerFacts['availableExtensions'][number]> = {},
): ServerFacts['availableExtensions'][number] => ({
  name,
  defaultVersion: '1.0',
  installedVersion: null,
  superuser: true,
  trusted: false,
  ...o,
});

describe('TLS', () => {
  it('verify-full is ok, verify-ca and require are warned, none is refused unless loopback', () => {
    const level = (o: Partial<EndpointFacts>): string[] => tlsItems(ep(o)).map((i) => `${i.code}:${i.level}`);
    expect(level({ sslMode: 'verify-full' })).toEqual(['TLS_VERIFIED:ok']);
    expect(level({ sslMode: 'verify-ca' })).toEqual(['TLS_HOSTNAME_UNCHECKED:warning']);
    expect(level({ sslMode: 'require' })).toEqual(['TLS_UNVERIFIED:warning']);
    expect(level({ sslMode: 'disable' })).toEqual(['TLS_DISABLED:blocker']);
    expect(level({ sslMode: 'disable', loopback: true })).toEqual(['TLS_LOOPBACK:info']);
    expect(level({ sslMode: 'require', loopback: true })).toEqual(['TLS_LOOPBACK:info']);
    expect(tlsItems(ep({ sslMode: 'require', provider: 'supabase' }))[0]?.hint).toMatch(/prod-ca-2021\.crt/);
  });

  it('names the side and the weaker mode written in its ssl block, with the block that verifies', () => {
    for (const side of ['source', 'target'] as const) {
      for (const [mode, code] of [
        ['require', 'TLS_UNVERIFIED'],
        ['verify-ca', 'TLS_HOSTNAME_UNCHECKED'],
        ['disable', 'TLS_DISABLED'],
      ] as const) {
        const [item] = tlsItems(ep({ side, sslMode: mode }));
        expect(item).toMatchObject({ code, side });
        expect(item?.message).toContain(`${side}.ssl.mode: ${mode}`);
        expect(item?.hint).toContain(`\`${side}.ssl: { mode: verify-full, ca_file: ./ca.crt }\``);
      }
    }
    const findings = preflightFindings(tlsItems(ep({ side: 'source', sslMode: 'require' })));
    expect(findings).toMatchObject([
      {
        code: 'TLS_UNVERIFIED',
        severity: 'warning',
        message: expect.stringMatching(
          /^source: TLS require \(source\.ssl\.mode: require, weaker than the default verify-full\)/,
        ),
      },
    ]);
  });
});

describe('the IPv6-only Supabase direct host', () => {
  const direct = ep({ host: 'db.abcdefghijklmnop.supabase.co', provider: 'supabase' });
  it('explains ENETUNREACH, EHOSTUNREACH and ENOTFOUND on db.<ref>.supabase.co with the session pooler as the fix', () => {
    for (const errno of ['ENETUNREACH', 'EHOSTUNREACH', 'ENOTFOUND']) {
      const [item] = networkItems(direct, { errno });
      expect(item).toMatchObject({ code: 'SUPABASE_DIRECT_IPV6_ONLY', level: 'blocker' });
      expect(item?.message).toMatch(/only an IPv6 address/);
      expect(item?.hint).toMatch(
        /session pooler instead \(IPv4\): host aws-N-<region>\.pooler\.supabase\.com, port 5432 .*user postgres\.abcdefghijklmnop/,
      );
    }
  });
  it('says nothing for other errors or other hosts', () => {
    expect(networkItems(direct, { errno: 'ECONNREFUSED' })).toEqual([]);
    expect(networkItems(ep({ host: 'aws-0-eu-west-1.pooler.supabase.com' }), { errno: 'ENOTFOUND' })).toEqual([]);
    expect(networkItems(direct, undefined)).toEqual([]);
  });
  it('finds the errno through PgshiftError causes and happy-eyeballs AggregateErrors, and connect errors carry the explanation', () => {
    const inner = Object.assign(new Error('connect ENETUNREACH 2a05:d014::1:5432'), { code: 'ENETUNREACH' });
    const aggregate = Object.assign(new AggregateError([inner], 'connect failed'), {});
    expect(connectFailure(new PgshiftError('CONNECT_FAILED', 'x', { cause: aggregate })).errno).toBe('ENETUNREACH');
    const endpoint = resolveEndpoint({
      side: 'target',
      url: 'postgres://postgres:pw-secret@db.abcdefghijklmnop.supabase.co:5432/postgres',
      provider: 'supabase',
      sslMode: 'require',
      caFile: undefined,
      extensionSchema: undefined,
    });
    const err = connectError(aggregate, endpoint, 3);
    expect(err.code).toBe('CONNECT_FAILED');
    expect(err.message).toMatch(/only an IPv6 address/);
    expect(err.hint).toMatch(/session pooler/);
    expect(`${err.message}${err.hint}`).not.toContain('pw-secret');
  });
});

describe('extensions', () => {
  const source = (...names: string[]): ServerFacts =>
    server({ installedExtensions: names.map((name) => ({ name, version: '1.0', schema: 'public' })) });
  const codes = (items: ReturnType<typeof extensionItems>): string[] =>
    items.map((i) => `${i.code} ${i.address ?? ''}`.trim());

  it('blocks what the target lacks or only a superuser may create; trusted, installed and supautils-privileged ones pass', () => {
    const target = server({
      availableExtensions: [
        ext('dblink'),
        ext('pgcrypto', { trusted: true }),
        ext('hstore', { installedVersion: '1.8' }),
        ext('pg_cron'),
      ],
      privilegedExtensions: ['pg_cron', 'pgsodium'],
    });
    expect(
      codes(extensionItems(source('adminpack', 'dblink', 'pgcrypto', 'hstore', 'pg_cron'), target, 'supabase')),
    ).toEqual([
      'EXTENSION_UNAVAILABLE extension adminpack',
      'EXTENSION_DEPRECATED extension adminpack',
      'EXTENSION_REQUIRES_SUPERUSER extension dblink',
      'EXTENSION_AVAILABLE extension pgcrypto',
      'EXTENSION_INSTALLED extension hstore',
      'EXTENSION_AVAILABLE extension pg_cron',
    ]);
    // a superuser target role may create any available extension
    expect(codes(extensionItems(source('dblink'), { ...target, superuser: true }, 'postgres'))).toEqual([
      'EXTENSION_AVAILABLE extension dblink',
    ]);
  });

  it('warns about deprecated extensions, the Supabase-only ones only for a Supabase target', () => {
    const target = server({ superuser: true, availableExtensions: [ext('plv8'), ext('intagg')] });
    expect(codes(extensionItems(source('plv8', 'intagg'), target, 'postgres'))).toEqual([
      'EXTENSION_AVAILABLE extension plv8',
      'EXTENSION_AVAILABLE extension intagg',
      'EXTENSION_DEPRECATED extension intagg',
    ]);
    expect(codes(extensionItems(source('plv8'), target, 'supabase'))).toEqual([
      'EXTENSION_AVAILABLE extension plv8',
      'EXTENSION_DEPRECATED extension plv8',
    ]);
  });
});

describe('connection headroom', () => {
  const c = { maxConnections: 60, reserved: 3, inUse: 50, roleLimit: null, roleInUse: 1 };
  it('plan judges capacity only (not live counts), so the finding does not move between plan and apply', () => {
    expect(connectionItems(c, 'postgres', 4, 'plan')).toMatchObject([{ code: 'CONNECTION_HEADROOM', level: 'ok' }]);
    expect(connectionItems({ ...c, inUse: 5 }, 'postgres', 4, 'plan')).toEqual(
      connectionItems(c, 'postgres', 4, 'plan'),
    );
    expect(connectionItems({ ...c, roleLimit: 4 }, 'app', 6, 'plan')).toMatchObject([
      {
        code: 'CONNECTION_HEADROOM',
        level: 'warning',
        message:
          "copy.parallel=6 needs 8 target connections but role app's CONNECTION LIMIT 4 allows 4: apply will run fewer copy workers",
      },
    ]);
    expect(connectionItems({ ...c, roleLimit: 2 }, 'app', 1, 'plan')).toMatchObject([
      { code: 'CONNECTIONS_INSUFFICIENT', level: 'blocker' },
    ]);
  });
  it('doctor judges what is free now', () => {
    expect(connectionItems(c, 'postgres', 4, 'doctor')).toMatchObject([
      { level: 'warning', message: '7 of 60 connections free; copy.parallel=4 needs 6' },
    ]);
    expect(connectionItems({ ...c, inUse: 54 }, 'postgres', 4, 'doctor')).toMatchObject([{ level: 'blocker' }]);
    expect(connectionItems({ ...c, inUse: 10 }, 'postgres', 4, 'doctor')).toMatchObject([{ level: 'ok' }]);
  });
});

describe('statement timeout', () => {
  const side = (serverDefault: string, session: string): SideFacts => ({
    endpoint: ep(),
    server: server({ statementTimeout: { serverDefault, session } }),
  });
  it('reports the server default, and warns only when the session kept a timeout after SET statement_timeout = 0', () => {
    expect(statementTimeoutItems(side('0', '0'))).toMatchObject([{ code: 'STATEMENT_TIMEOUT_NONE', level: 'ok' }]);
    expect(statementTimeoutItems(side('2min', '0'))).toMatchObject([
      { code: 'STATEMENT_TIMEOUT_OVERRIDDEN', level: 'info', message: expect.stringMatching(/server default 2min/) },
    ]);
    expect(statementTimeoutItems(side('2min', '2min'))).toMatchObject([
      { code: 'STATEMENT_TIMEOUT_NOT_OVERRIDDEN', level: 'warning' },
    ]);
  });
});

describe('preflight', () => {
  it('turns warnings and blockers (never ok or info rows) into plan findings that name the side', () => {
    const facts = {
      source: {
        endpoint: ep({ side: 'source', sslMode: 'disable', loopback: true }),
        server: server({ installedExtensions: [{ name: 'xml2', version: '1.1', schema: 'public' }] }),
      },
      target: {
        endpoint: ep({ sslMode: 'require' }),
        server: server({
          availableExtensions: [ext('xml2', { superuser: true, trusted: false })],
          statementTimeout: { serverDefault: '2min', session: '0' },
        }),
      },
      copyParallel: 4,
    };
    const findings = preflightFindings(preflight(facts, 'plan'));
    expect(findings.map((f) => `${f.severity} ${f.code}`)).toEqual([
      'warning TLS_UNVERIFIED',
      'blocker EXTENSION_REQUIRES_SUPERUSER',
      'warning EXTENSION_DEPRECATED',
    ]);
    expect(findings[0]?.message).toMatch(/^target: TLS require/);
    expect(findings[1]).toMatchObject({ address: 'extension xml2' });
  });
});
