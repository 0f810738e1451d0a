import { afterEach, describe, expect, it } from 'vitest';
import { clearSecrets, redactUrl, registerSecret, scrub, scrubDeep } from '../../src/log/redact.js';

afterEach(() => clearSecrets());

describe('redaction', () => {
  it('masks the password of a URL and keeps the rest', () => {
    expect(redactUrl('postgres://app:s3cr%40t@db.example.com:5432/clinic?sslmode=require')).toBe(
      'postgres://app:***@db.example.com:5432/clinic?sslmode=require',
    );
    expect(redactUrl('postgresql://app@localhost/clinic')).toBe('postgresql://app@localhost/clinic');
    expect(redactUrl('postgres://u@h/db?password=hunter22')).not.toContain('hunter22');
  });

  it('scrubs credentials from free text, wherever they are', () => {
    const text = 'could not connect to postgres://app:hunter22@db:5432/x; dsn host=db password=hunter22 user=app';
    const out = scrub(text);
    expect(out).not.toContain('hunter22');
    expect(out).toContain('postgres://app:***@db:5432/x');
  });

  it('scrubs registered secrets in raw and percent-encoded form, deep inside objects', () => {
    registerSecret('p@ss w0rd!');
    const out = scrubDeep({ a: ['x p@ss w0rd! y', { b: 'enc p%40ss%20w0rd! end' }], n: 3 });
    expect(JSON.stringify(out)).not.toMatch(/p@ss w0rd!|p%40ss%20w0rd!/);
    expect(out.n).toBe(3);
  });

  it('ignores secrets too short to be told from noise', () => {
    registerSecret('ab');
    expect(scrub('abc')).toBe('abc');
  });
});
