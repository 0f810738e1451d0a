import { describe, expect, it } from 'vitest';
import { MAX_EXPANDED_NODES } from '../../src/config/aliases.js';
import { MAX_CONFIG_BYTES, parseConfig } from '../../src/config/load.js';
import { formatProblem } from '../../src/config/problems.js';

const HEAD = `version: 1
name: t
source:
  url: postgres://app:pw@127.0.0.1:5432/a
target:
  url: postgres://postgres:pw@127.0.0.1:5433/b
`;

function problems(text: string): string[] {
  return parseConfig(text, 'm.yaml', {}).problems.map((p) => formatProblem('m.yaml', p));
}

/** `levels` lines, each holding `width` aliases of the line before. */
function bomb(levels: number, width: number): string {
  const out = [`l0: &l0 [${Array(width).fill('lol').join(', ')}]`];
  for (let i = 1; i < levels; i++)
    out.push(
      `l${i}: &l${i} [${Array(width)
        .fill(`*l${i - 1}`)
        .join(', ')}]`,
    );
  return `${out.join('\n')}\n`;
}

describe('config: YAML anchors and aliases', () => {
  it('refuses a deep alias bomb quickly, at the alias that crosses the bound, without expanding it', () => {
    const started = Date.now();
    const p = problems(`${HEAD}${bomb(40, 10)}`); // 10^40 values once expanded
    expect(Date.now() - started).toBeLessThan(2000);
    expect(p).toEqual([
      `m.yaml:10:45: YAML aliases expand to more than ${MAX_EXPANDED_NODES} values here (*l2): refused as an alias bomb; write the values out or use fewer aliases`,
    ]);
  });

  it('accepts aliases that stay below the bound, even more of them than the yaml library allows by default (100)', () => {
    const overrides = Array.from({ length: 300 }, (_, i) => `    public.t${i}: *small`).join('\n');
    const r = parseConfig(
      `${HEAD}tables:\n  include: ["public.*"]\n  overrides:\n    public.base: &small { batch_size: 10 }\n${overrides}\n`,
      'm.yaml',
      {},
    );
    expect(r.problems).toEqual([]);
    expect(r.config?.tables.overrides['public.t299']).toEqual({ batchSize: 10 });
  });

  it('refuses an alias with no anchor before it and an alias inside its own anchor, located', () => {
    expect(problems(`${HEAD}tables:\n  include: *later\nx: &later ["public.*"]\n`)).toEqual([
      'm.yaml:8:12: YAML alias *later refers to no anchor &later defined before it',
    ]);
    expect(problems(`${HEAD}tables: &t\n  overrides: { public.a: *t }\n`)).toEqual([
      'm.yaml:8:26: YAML alias *t is inside the value it refers to (a cycle); write the value out',
    ]);
  });
});

describe('config: size', () => {
  it('refuses text over 1 MB before parsing', () => {
    expect(problems(`${HEAD}#${'x'.repeat(MAX_CONFIG_BYTES)}\n`)).toEqual([
      'm.yaml:1:1: the file is larger than 1 MB; refused before parsing',
    ]);
  });
});

describe('config: control characters', () => {
  it('refuses them in names, keys, URLs and paths, and escapes them in messages', () => {
    const p = problems(
      `${HEAD}  extension_schema: "ext\\u200b\\u0085"\nschemas:\n  map: { "a\\rb": c }\nroles:\n  map: { app: "ap\\x1bp" }\nverify:\n  updated_at_column: "upd\\tated"\n`,
    );
    expect(p).toEqual([
      'm.yaml:7:21: target.extension_schema contains a control character (U+0085); names, URLs and paths must not contain control characters',
      'm.yaml:9:10: schemas.map.a\\u000db: the key contains a control character (U+000D carriage return); names must not contain control characters',
      'm.yaml:11:15: roles.map.app contains a control character (U+001B ESC); names, URLs and paths must not contain control characters',
      'm.yaml:13:22: verify.updated_at_column contains a control character (U+0009 tab); names, URLs and paths must not contain control characters',
    ]);
  });

  it('never names the value of a URL that holds one (it holds the password)', () => {
    const r = parseConfig(HEAD.replace('postgres://app:pw@127.0.0.1:5432/a', '${SRC}'), 'm.yaml', {
      SRC: 'postgres://app:s3cret@127.0.0.1:5432/a\n',
    });
    expect(r.problems.map((p) => p.message)).toEqual([
      'source.url contains a control character (U+000A newline); names, URLs and paths must not contain control characters',
    ]);
    expect(JSON.stringify(r.problems)).not.toContain('s3cret');
  });
});

describe('config: schemas pgshift and PostgreSQL own', () => {
  it('refuses schemas.map from or onto them, every one at once', () => {
    const p = problems(
      `${HEAD}schemas:\n  map:\n    pgshift: a\n    b: pgshift\n    c: pg_catalog\n    d: information_schema\n    pg_toast: e\n    f: pg_temp_3\n    PG_app: g\n`,
    );
    expect(p).toEqual([
      'm.yaml:9:5: schemas.map: "pgshift" is pgshift\'s own state schema; it is never migrated, so it cannot be mapped',
      'm.yaml:10:8: schemas.map: "pgshift" is pgshift\'s own state schema; destroy drops it with CASCADE, which would take the migrated tables with it; map "b" to a schema of your own',
      'm.yaml:11:8: schemas.map: "pg_catalog" is a system schema of PostgreSQL; map "c" to a schema of your own',
      'm.yaml:12:8: schemas.map: "information_schema" is a system schema of PostgreSQL; map "d" to a schema of your own',
      'm.yaml:13:5: schemas.map: "pg_toast" is a system schema of PostgreSQL; it is never migrated, so it cannot be mapped',
      'm.yaml:14:8: schemas.map: "pg_temp_3" is a system schema of PostgreSQL; map "f" to a schema of your own',
    ]);
  });
});
