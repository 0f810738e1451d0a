/**
 * Pure parts of src/db: TLS resolution (issue 11 item 7: verify-full off loopback on both sides, a URL cannot weaken
 * it), loopback detection, TLS error hints, URL parsing of pasted passwords, retry classes, identifier quoting.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { EndpointConfig, SslMode } from '../../src/config/types.js';
import { connectError } from '../../src/db/connect-error.js';
import { isLoopbackHost, resolveEndpoint, tlsOptions } from '../../src/db/endpoint.js';
import { isTransient } from '../../src/db/retry.js';
import { quoteIdent } from '../../src/db/ident.js';
import { scrub } from '../../src/log/redact.js';

const ep = (url: string, extra: Partial<EndpointConfig> = {}): EndpointConfig => ({
  side: 'target',
  url,
  provider: 'postgres',
  sslMode: undefined,
  caFile: undefined,
  extensionSchema: undefined,
  ...extra,
});

const MODES: readonly SslMode[] = ['disable', 'require', 'verify-ca', 'verify-full'];
const RANK: Record<SslMode, number> = { disable: 0, require: 1, 'verify-ca': 2, 'verify-full': 3 };
const caDir = mkdtempSync(join(tmpdir(), 'pgshift-endpoint-'));
const CA_FILE = join(caDir, 'ca.crt');
writeFileSync(CA_FILE, '-----BEGIN CERTIFICATE-----\n(not read by the driver here)\n-----END CERTIFICATE-----\n');
afterAll(() => rmSync(caDir, { recursive: true, force: true }));

describe('TLS resolution: host kind x provider x URL sslmode x ssl block', () => {
  const hosts = [
    { kind: 'loopback v4', host: '127.0.0.1', loopback: true },
    { kind: 'loopback v4 (127/8)', host: '127.3.4.5', loopback: true },
    { kind: '::1', host: '[::1]', loopback: true },
    { kind: 'localhost', host: 'localhost', loopback: true },
    { kind: 'private IP', host: '10.1.2.3', loopback: false },
    { kind: 'private IP (192.168)', host: '192.168.7.20', loopback: false },
    { kind: 'public hostname', host: 'db.example.com', loopback: false },
    { kind: 'Supabase host', host: 'db.abcdefghijklmnop.supabase.co', loopback: false },
  ] as const;
  const sides = [
    { side: 'source', provider: 'postgres' },
    { side: 'target', provider: 'postgres' },
    { side: 'target', provider: 'supabase' },
  ] as const;
  const urlModes = [undefined, ...MODES] as const;
  const blocks: ReadonlyArray<{ name: string; sslMode?: SslMode; caFile?: string }> = [
    { name: 'no ssl block' },
    ...MODES.map((m) => ({ name: `ssl: { mode: ${m} }`, sslMode: m })),
    ...MODES.map((m) => ({ name: `ssl: { mode: ${m}, ca_file }`, sslMode: m, caFile: CA_FILE })),
  ];

  /** The rule of issue 11, item 7, written out independently of the code. */
  function expected(
    loopback: boolean,
    side: string,
    provider: string,
    urlMode: SslMode | undefined,
    block: { sslMode?: SslMode; caFile?: string },
  ): { error: string; says: RegExp } | { mode: SslMode; from: string } {
    const fallback: SslMode = loopback ? 'disable' : 'verify-full';
    if (urlMode && block.sslMode && urlMode !== block.sslMode)
      return { error: 'CONFIG_INVALID', says: /the URL says sslmode=.* but ssl\.mode is/ };
    if (!block.sslMode && urlMode && RANK[urlMode] < RANK[fallback])
      return {
        error: 'CONFIG_INVALID',
        says: new RegExp(`${side}\\.url says sslmode=${urlMode}, weaker than verify-full`),
      };
    const mode = block.sslMode ?? urlMode ?? fallback;
    if (block.caFile && (mode === 'disable' || mode === 'require'))
      return { error: 'CONFIG_INVALID', says: /a CA file is given/ };
    if (provider === 'supabase' && side === 'target' && mode === 'disable' && !loopback)
      return { error: 'CONNECT_TLS_REQUIRED', says: /TLS is disabled/ };
    return { mode, from: block.sslMode ? 'config' : urlMode ? 'url' : 'default' };
  }

  const cases = hosts.flatMap((h) =>
    sides.flatMap((s) => urlModes.flatMap((u) => blocks.map((b) => ({ ...h, ...s, urlMode: u, block: b })))),
  );

  it('covers every combination', () => {
    expect(cases).toHaveLength(hosts.length * sides.length * urlModes.length * blocks.length);
  });

  it.each(cases)(
    '$side/$provider at $kind, URL sslmode=$urlMode, $block.name',
    ({ host, loopback, side, provider, urlMode, block }) => {
      const url = `postgres://u:pw-table-test@${host}:5432/d${urlMode ? `?sslmode=${urlMode}` : ''}`;
      const want = expected(loopback, side, provider, urlMode, block);
      const resolve = (): ReturnType<typeof resolveEndpoint> =>
        resolveEndpoint(ep(url, { side, provider, sslMode: block.sslMode, caFile: block.caFile }));
      if ('error' in want) {
        expect(resolve).toThrow(
          expect.objectContaining({ code: want.error, message: expect.stringMatching(want.says) }),
        );
        return;
      }
      const r = resolve();
      expect(r.loopback).toBe(loopback);
      expect({ mode: r.sslMode, from: r.sslModeFrom }).toEqual(want);
      expect(r.caFile).toBe(block.caFile);
      // and the driver gets exactly that mode
      const tls = tlsOptions(r);
      if (want.mode === 'disable') expect(tls).toBe(false);
      else expect(tls).toMatchObject({ rejectUnauthorized: want.mode !== 'require' });
      if (want.mode === 'verify-full' && tls) expect(tls.checkServerIdentity).toBeUndefined();
      if (want.mode === 'verify-ca' && tls) expect(tls.checkServerIdentity).toBeTypeOf('function');
    },
  );

  it('off loopback the default is verify-full on both sides, whatever the provider', () => {
    for (const side of ['source', 'target'] as const) {
      for (const host of ['db.example.com', '10.0.0.7', 'postgres']) {
        const r = resolveEndpoint(ep(`postgres://u:p@${host}/d`, { side }));
        expect([r.sslMode, r.sslModeFrom]).toEqual(['verify-full', 'default']);
        expect(tlsOptions(r)).toMatchObject({ rejectUnauthorized: true });
      }
    }
    expect(tlsOptions(resolveEndpoint(ep('postgres://u:p@db.example.com/d')))).toMatchObject({
      servername: 'db.example.com',
    });
  });

  it("refuses a URL's weaker sslmode with the exact ssl block to write", () => {
    const run = (): unknown =>
      resolveEndpoint(
        ep('postgres://postgres:p@db.abcdefghijklmnop.supabase.co:5432/postgres?sslmode=require', {
          provider: 'supabase',
        }),
      );
    expect(run).toThrow(
      expect.objectContaining({
        code: 'CONFIG_INVALID',
        hint: expect.stringContaining('`target.ssl: { mode: require }`'),
      }),
    );
    expect(run).toThrow(
      expect.objectContaining({
        hint: expect.stringContaining('`target.ssl: { mode: verify-full, ca_file: ./ca.crt }`'),
      }),
    );
    // written in the config, the same weaker mode is used (and preflight warns about it)
    const explicit = resolveEndpoint(
      ep('postgres://u:p@10.0.0.7/d?sslmode=require', { side: 'source', sslMode: 'require' }),
    );
    expect([explicit.sslMode, explicit.sslModeFrom]).toEqual(['require', 'config']);
    expect(tlsOptions(explicit)).toEqual({ rejectUnauthorized: false });
  });
});

describe('isLoopbackHost', () => {
  it('knows 127.0.0.0/8, ::1 in any spelling, localhost; nothing else', () => {
    for (const h of [
      '127.0.0.1',
      '127.255.0.9',
      '::1',
      '[::1]',
      '0:0:0:0:0:0:0:1',
      '::ffff:127.0.0.1',
      'localhost',
      'LOCALHOST',
      'app.localhost',
      '/var/run/postgresql',
    ])
      expect(isLoopbackHost(h), h).toBe(true);
    for (const h of [
      '10.0.0.1',
      '192.168.1.1',
      '128.0.0.1',
      '::2',
      '::ffff:10.0.0.1',
      'vm',
      'localhost.example.com',
      'mylocalhost',
      'db.example.com',
    ])
      expect(isLoopbackHost(h), h).toBe(false);
  });
});

describe('connection errors name the ssl block to write', () => {
  const source = (url: string, extra: Partial<EndpointConfig> = {}): ReturnType<typeof resolveEndpoint> =>
    resolveEndpoint(ep(url, { side: 'source', ...extra }));
  const tlsErr = (code: string, message: string): Error => Object.assign(new Error(message), { code });

  it('a self-signed certificate: verify-full with ca_file, or require written explicitly', () => {
    for (const [code, message] of [
      ['DEPTH_ZERO_SELF_SIGNED_CERT', 'self-signed certificate'],
      ['SELF_SIGNED_CERT_IN_CHAIN', 'self-signed certificate in certificate chain'],
      ['UNABLE_TO_VERIFY_LEAF_SIGNATURE', 'unable to verify the first certificate'],
    ] as const) {
      const err = connectError(tlsErr(code, message), source('postgres://u:p@10.0.0.7/d'), 1);
      expect(err.code).toBe('CONNECT_TLS_FAILED');
      expect(err.message).toMatch(
        /^TLS to source \(u@10\.0\.0\.7:5432\/d\) failed \(verify-full, the default for a host that is not on this machine\)/,
      );
      expect(err.hint).toContain('`source.ssl: { mode: verify-full, ca_file: ./ca.crt }`');
      expect(err.hint).toContain('`source.ssl: { mode: require }`');
    }
    // a Supabase target: its CA file by name
    const supa = connectError(
      tlsErr('SELF_SIGNED_CERT_IN_CHAIN', 'self-signed certificate in certificate chain'),
      resolveEndpoint(ep('postgres://u:p@db.abcdefghijklmnop.supabase.co/postgres', { provider: 'supabase' })),
      1,
    );
    expect(supa.hint).toContain('`target.ssl: { mode: verify-full, ca_file: ./prod-ca-2021.crt }`');
  });

  it('a server without TLS: turn it on and write the block (no TLS only on this machine)', () => {
    const err = connectError(
      new Error('The server does not support SSL connections'),
      source('postgres://u:p@10.0.0.7/d'),
      1,
    );
    expect(err.code).toBe('CONNECT_TLS_FAILED');
    expect(err.hint).toContain('Turn TLS on in the server');
    expect(err.hint).toContain('`source.ssl: { mode: verify-full, ca_file: ./ca.crt }`');
    expect(err.hint).toContain('`source.ssl: { mode: require }`');
    const local = connectError(
      new Error('The server does not support SSL connections'),
      source('postgres://u:p@127.0.0.1/d', { sslMode: 'require' }),
      1,
    );
    expect(local.hint).toContain('`source.ssl: { mode: disable }`');
  });

  it('a wrong CA file or host name', () => {
    const wrongCa = connectError(
      tlsErr('UNABLE_TO_VERIFY_LEAF_SIGNATURE', 'unable to verify the first certificate'),
      source('postgres://u:p@10.0.0.7/d', { sslMode: 'verify-full', caFile: CA_FILE }),
      1,
    );
    expect(wrongCa.hint).toContain(`source.ssl.ca_file (${CA_FILE}) is not the CA that signed it`);
    const host = connectError(
      tlsErr('ERR_TLS_CERT_ALTNAME_INVALID', "Hostname/IP does not match certificate's altnames"),
      source('postgres://u:p@10.0.0.7/d'),
      1,
    );
    expect(host.hint).toContain('not valid for host "10.0.0.7"');
    expect(host.hint).toContain('`source.ssl: { mode: verify-ca, ca_file: ./ca.crt }`');
  });
});

describe('resolveEndpoint', () => {
  it("reads the URL's sslmode into the setting and never passes it on", () => {
    const r = resolveEndpoint(ep('postgres://u:p@db.example.com/d?sslmode=verify-full'));
    expect(r.sslMode).toBe('verify-full');
    expect(tlsOptions(r)).toMatchObject({ rejectUnauthorized: true, servername: 'db.example.com' });
    expect(tlsOptions(resolveEndpoint(ep('postgres://u:p@127.0.0.1/d?sslmode=require')))).toEqual({
      rejectUnauthorized: false,
    });
    expect(tlsOptions(resolveEndpoint(ep('postgres://u:p@127.0.0.1/d')))).toBe(false);
  });

  it('fills defaults: port 5432, database = user', () => {
    const r = resolveEndpoint(ep('postgresql://clinic:p@db.example.com'));
    expect([r.port, r.database, r.user]).toEqual([5432, 'clinic', 'clinic']);
    expect(r.display).toBe('clinic@db.example.com:5432/clinic');
  });

  it('refuses the Supabase transaction pooler and plain text to a remote Supabase', () => {
    expect(() =>
      resolveEndpoint(
        ep('postgres://postgres.ref:p@aws-0-eu-west-1.pooler.supabase.com:6543/postgres', { provider: 'supabase' }),
      ),
    ).toThrow(expect.objectContaining({ code: 'CONNECT_POOLER_TRANSACTION_MODE' }));
    expect(() =>
      resolveEndpoint(
        ep('postgres://postgres:p@db.abc.supabase.co:5432/postgres', { provider: 'supabase', sslMode: 'disable' }),
      ),
    ).toThrow(expect.objectContaining({ code: 'CONNECT_TLS_REQUIRED' }));
    // loopback stays allowed (tests, demo)
    expect(resolveEndpoint(ep('postgres://postgres:p@127.0.0.1:5432/postgres', { provider: 'supabase' })).sslMode).toBe(
      'disable',
    );
  });

  it('registers the password so that no output can carry it', () => {
    resolveEndpoint(ep('postgres://u:Zq9%23secretive@db.example.com/d'));
    expect(scrub('oops Zq9#secretive and Zq9%23secretive')).toBe('oops *** and ***');
  });

  it('reads a password pasted with a raw @, : and % whole (the user info ends at the last @ before the host)', () => {
    for (const url of [
      'postgres://u:p@ss:w%rd@db.example.com:5433/clinic',
      'postgres://u:p%40ss%3Aw%25rd@db.example.com:5433/clinic',
    ]) {
      const r = resolveEndpoint(ep(url));
      expect([r.user, r.password, r.host, r.port, r.database]).toEqual([
        'u',
        'p@ss:w%rd',
        'db.example.com',
        5433,
        'clinic',
      ]);
      expect(r.redactedUrl).not.toMatch(/p@ss|ss:w|w%rd|%25rd|%40ss/);
      expect(r.redactedUrl).toContain('@db.example.com:5433/clinic');
    }
    const text = 'connect postgres://u:p@ss:w%rd@db.example.com:5433/clinic failed; pw p@ss:w%rd, p%40ss%3Aw%25rd';
    expect(scrub(text)).toBe('connect postgres://u:***@db.example.com:5433/clinic failed; pw ***, ***');
  });

  it('says to encode / ? # in a password when the URL cannot be read, and masks it all the same', () => {
    const err = ((): unknown => {
      try {
        return resolveEndpoint(ep('postgres://u:pa/ss#x@db.example.com/d'));
      } catch (e) {
        return e;
      }
    })() as { code: string; hint: string };
    expect(err.code).toBe('CONFIG_INVALID_URL');
    expect(err.hint).toMatch(/percent-encoded \(%2F %3F %23\)/);
    expect(scrub('the pasted password: pa/ss#x')).toBe('the pasted password: ***');
  });
});

describe('isTransient', () => {
  it('retries what may pass and fails fast on what will not', () => {
    for (const code of ['ECONNREFUSED', 'ECONNRESET', '57P01', '57P03', '53300', '40001'])
      expect(isTransient({ code })).toBe(true);
    for (const code of ['28P01', '3D000', '28000', '42P01']) expect(isTransient({ code })).toBe(false);
    expect(isTransient(new Error('Connection terminated unexpectedly'))).toBe(true);
    expect(isTransient(new AggregateError([{ code: 'ECONNREFUSED' }, { code: 'ECONNREFUSED' }]))).toBe(true);
  });
});

describe('quoteIdent', () => {
  it('quotes hostile names so they round-trip', () => {
    expect(quoteIdent('we"ird')).toBe('"we""ird"');
    expect(quoteIdent('select')).toBe('"select"');
    expect(quoteIdent('a.b')).toBe('"a.b"');
    expect(quoteIdent('1st Table')).toBe('"1st Table"');
    expect(quoteIdent('Ünïcødé')).toBe('"Ünïcødé"');
    expect(() => quoteIdent('')).toThrow();
  });
});
