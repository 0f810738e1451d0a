import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../e2e/cli.js';
import { configDir } from '../support/config.js';
import { copyDatasetSql } from '../support/datasets.js';
import { freshDatabases, withPg, type FreshDatabases } from '../support/databases.js';

const cfg = configDir('init');
let dbs: FreshDatabases;
beforeAll(async () => {
  dbs = await freshDatabases('init');
  await withPg(dbs.sourceUrl, (c) => c.query(copyDatasetSql(100)));
});
afterAll(async () => {
  await dbs?.drop();
  cfg.remove();
});

describe('pgshift init', () => {
  it('writes a commented starter config from the source that validates, without the URL in it', () => {
    const out = join(cfg.dir, 'migration.yaml');
    const r = runCli(['init', '--source', dbs.sourceUrl, '--out', out]);
    expect(r.status, r.stderr).toBe(0);
    const text = readFileSync(out, 'utf8');
    expect(text).toMatch(/^# yaml-language-server: \$schema=.*schemas\/migration\.schema\.json/);
    expect(text).toMatch(/- "data\.\*" +# 5 tables/); // encounters counts once, its partitions follow it
    expect(text).toContain('#   "data.audit_log": { key: ["at"] }');
    expect(text).toContain('url: ${SOURCE_DATABASE_URL}');
    expect(text).not.toContain(new URL(dbs.sourceUrl).password);
    const v = runCli(['validate', '-c', out], {
      SOURCE_DATABASE_URL: dbs.sourceUrl,
      TARGET_DATABASE_URL: dbs.targetUrl,
    });
    expect(v.status, v.stderr).toBe(0);
    // the batch size is left to pgshift (a key in no heap order gets larger batches only when it is not set)
    expect(text).toMatch(/^ {2}# batch_size: 100000 /m);
    expect(text).not.toMatch(/^ {2}batch_size:/m);
    const again = runCli(['init', '--source', dbs.sourceUrl, '--out', out]);
    expect(again.status).toBe(1);
    expect(again.stderr).toContain('exists already');
  });
});
