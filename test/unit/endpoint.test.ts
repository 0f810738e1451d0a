import { describe, expect, it } from 'vitest';
import type { EndpointConfig } from '../../src/config/types.js';
import { resolveEndpoint, tlsOptions } from '../../src/db/endpoint.js';
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

describe('resolveEndpoint', () => {
  it('picks TLS defaults: none on loopback, require elsewhere, verify-full for supabase', () => {
    expect(resolveEndpoint(ep('postgres://u:p@127.0.0.1:5432/d')).sslMode).toBe('disable');
    expect(resolveEndpoint(ep('postgres://u:p@localhost/d')).sslMode).toBe('disable');
    expect(resolveEndpoint(ep('postgres://u:p@[::1]:5433/d')).sslMode).toBe('disable');
    expect(resolveEndpoint(ep('postgres://u:p@db.example.com/d')).sslMode).toBe('require');
    expect(resolveEndpoint(ep('postgres://u:p@db.abc.supabase.co/postgres', { provider: 'supabase' })).sslMode).toBe('verify-full');
  });

  it("reads the URL's sslmode into the setting and never passes it on", () => {
    const r = resolveEndpoint(ep('postgres://u:p@db.example.com/d?sslmode=verify-full'));
    expect(r.sslMode).toBe('verify-full');
    expect(tlsOptions(r)).toMatchObject({ rejectUnauthorized: true, servername: 'db.example.com' });
    expect(tlsOptions(resolveEndpoint(ep('postgres://u:p@db.example.com/d?sslmode=require')))).toEqual({ rejectUnauthorized: false });
    expect(tlsOptions(resolveEndpoint(ep('postgres://u:p@127.0.0.1/d')))).toBe(false);
  });

  it('fills defaults: port 5432, database = user', () => {
    const r = resolveEndpoint(ep('postgresql://clinic:p@db.example.com'));
    expect([r.port, r.database, r.user]).toEqual([5432, 'clinic', 'clinic']);
    expect(r.display).toBe('clinic@db.example.com:5432/clinic');
  });

  it('refuses the Supabase transaction pooler and plain text to a remote Supabase', () => {
    expect(() => resolveEndpoint(ep('postgres://postgres.ref:p@aws-0-eu-west-1.pooler.supabase.com:6543/postgres', { provider: 'supabase' }))).toThrow(
      expect.objectContaining({ code: 'CONNECT_POOLER_TRANSACTION_MODE' }),
    );
    expect(() => resolveEndpoint(ep('postgres://postgres:p@db.abc.supabase.co:5432/postgres', { provider: 'supabase', sslMode: 'disable' }))).toThrow(
      expect.objectContaining({ code: 'CONNECT_TLS_REQUIRED' }),
    );
    // loopback stays allowed (tests, demo)
    expect(resolveEndpoint(ep('postgres://postgres:p@127.0.0.1:5432/postgres', { provider: 'supabase' })).sslMode).toBe('disable');
  });

  it('registers the password so that no output can carry it', () => {
    resolveEndpoint(ep('postgres://u:Zq9%23secretive@db.example.com/d'));
    expect(scrub('oops Zq9#secretive and Zq9%23secretive')).toBe('oops *** and ***');
  });
});

describe('isTransient', () => {
  it('retries what may pass and fails fast on what will not', () => {
    for (const code of ['ECONNREFUSED', 'ECONNRESET', '57P01', '57P03', '53300', '40001']) expect(isTransient({ code })).toBe(true);
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
