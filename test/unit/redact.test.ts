import { afterEach, describe, expect, it } from 'vitest';
import { clearSecrets, redactUrl, registerSecret, registerUrlSecrets, scrub, scrubDeep } from '../../src/log/redact.js';

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

  it('masks a short secret where it stands as a token, not inside longer words', () => {
    registerSecret('ab');
    expect(scrub('abc')).toBe('abc');
    registerSecret('x7Q');
    expect(scrub('pw x7Q, "x7Q", x7Q@host, :x7Q@, %3Ax7Q%40, x7Q_1 / x7Qa ax7Q 1x7Q')).toBe(
      'pw ***, "***", ***@host, :***@, %3A***%40, ***_1 / x7Qa ax7Q 1x7Q',
    );
    // and inside a URL, whatever its neighbours
    expect(scrub('postgres://app:x7Q@db:5432/x')).toBe('postgres://app:***@db:5432/x');
  });
});

describe('passwords with a raw @, : or % (pasted unencoded)', () => {
  const PASTED = 'postgres://app:p@ss:w%rd@db.example.com:5432/clinic';
  const leaks = (out: string): string[] =>
    ['p@ss', 'ss:w', 'w%rd', '%rd', 'p%40ss', 'ss%3Aw', 'w%25rd'].filter((part) => out.includes(part));

  it('is masked whole by the URL pattern alone (nothing registered)', () => {
    expect(scrub(`could not connect to ${PASTED}: timeout`)).toBe(
      'could not connect to postgres://app:***@db.example.com:5432/clinic: timeout',
    );
    expect(scrub(`{"url":"${PASTED}","note":"a@b"}`)).toBe(
      '{"url":"postgres://app:***@db.example.com:5432/clinic","note":"a@b"}',
    );
    expect(redactUrl(PASTED)).toBe('postgres://app:***@db.example.com:5432/clinic');
  });

  it('is masked whole wherever it appears once registered, in every spelling, before URL patterns run', () => {
    registerUrlSecrets(PASTED);
    const texts = [
      PASTED,
      'the password is p@ss:w%rd.',
      'encoded: p%40ss%3Aw%25rd / p%40ss%3Aw%rd / lower p%40ss%3aw%25rd',
      'keyword dsn: host=db password=p@ss:w%rd user=app',
      `mysql://root:p@ss:w%rd@h and ${PASTED.replace('postgres', 'postgresql')}`,
      `"${PASTED}?application_name=x"`,
    ];
    for (const t of texts) expect(leaks(scrub(t)), t).toEqual([]);
    expect(scrub('pw=p@ss:w%rd;')).toBe('pw=***;');
    expect(scrubDeep({ e: [`failed: ${PASTED}`] })).toEqual({
      e: ['failed: postgres://app:***@db.example.com:5432/clinic'],
    });
  });

  it('registers a 3-character password and masks it too', () => {
    registerUrlSecrets('postgres://app:a@%@db:5432/x');
    expect(scrub('password "a@%" rejected; url postgres://app:a@%@db:5432/x; encoded a%40%25')).toBe(
      'password "***" rejected; url postgres://app:***@db:5432/x; encoded ***',
    );
    clearSecrets();
    registerUrlSecrets('postgres://app:k9z@db:5432/x');
    expect(scrub('k9z: bad; k9zz and ok9z stay')).toBe('***: bad; k9zz and ok9z stay');
  });

  it('registers from a URL that does not parse (a raw / or # in the password)', () => {
    registerUrlSecrets('postgres://app:pa/ss#1@db:5432/x');
    expect(scrub('seen pa/ss#1 here')).toBe('seen *** here');
    expect(redactUrl('postgres://app:12/ss@db/x')).not.toContain('12/ss');
  });
});
