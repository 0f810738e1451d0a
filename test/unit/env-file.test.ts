/**
 * The env-file switch: values read back the same by pgshift, the test app's dotenv parser and a shell; CRLF,
 * comments, `export` and other lines kept; a symlinked file replaced where it points; the switch command returns at
 * its exit even when it leaves a background process holding its output.
 */
import { execFileSync } from 'node:child_process';
import { lstatSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { readEnvValue, setEnvValue, writeFileAtomic } from '../../src/cutover/env-file.js';
import { runSwitchCommand } from '../../src/cutover/hook.js';
import { parseEnvFile } from '../support/app-service.js';

const dir = mkdtempSync(join(tmpdir(), 'pgshift-envfile-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const VALUES = [
  'postgres://u:plain@db:5432/clinic',
  'postgres://u:pa$$word@db:5432/clinic?sslmode=verify-full',
  'postgres://u:with space#and hash@db/x',
  `postgres://u:it's"both@db/x`,
];

describe('env file', () => {
  it.each(VALUES)('writes %s so that pgshift, dotenv and sh all read it back unchanged', (value) => {
    const text = setEnvValue('# app\nexport DATABASE_URL=old\nOTHER=1\n', 'DATABASE_URL', value);
    expect(text.startsWith('# app\nexport DATABASE_URL=')).toBe(true);
    expect(text.endsWith('\nOTHER=1\n')).toBe(true);
    expect(readEnvValue(text, 'DATABASE_URL')).toBe(value);
    expect(parseEnvFile(text).DATABASE_URL).toBe(value);
    const file = join(dir, 'sh.env');
    writeFileSync(file, text);
    expect(execFileSync('/bin/sh', ['-c', `. "${file}"; printf %s "$DATABASE_URL"`], { encoding: 'utf8' })).toBe(value);
  });

  it('keeps CRLF line endings and reads a CRLF value', () => {
    const text = 'A=1\r\nDATABASE_URL=old\r\nB=2\r\n';
    expect(readEnvValue(text, 'DATABASE_URL')).toBe('old');
    expect(setEnvValue(text, 'DATABASE_URL', 'new')).toBe('A=1\r\nDATABASE_URL=new\r\nB=2\r\n');
  });

  it('replaces a symlinked file where it points, keeping the link', () => {
    const real = join(dir, 'shared.env');
    const link = join(dir, 'current.env');
    writeFileSync(real, 'DATABASE_URL=old\n', { mode: 0o640 });
    symlinkSync(real, link);
    writeFileAtomic(link, 'DATABASE_URL=new\n');
    expect(lstatSync(link).isSymbolicLink()).toBe(true);
    expect(readFileSync(real, 'utf8')).toBe('DATABASE_URL=new\n');
    expect(lstatSync(real).mode & 0o777).toBe(0o640);
  });
});

describe('switch command', () => {
  it('returns at the command exit even when it leaves a background process holding its output', async () => {
    const r = await runSwitchCommand('sleep 30 & echo reloaded', { cwd: dir, direction: 'cutover', timeoutMs: 20_000 });
    expect(r.output).toBe('reloaded');
    expect(r.ms).toBeLessThan(15_000); // not a timing test: it would take 30 s (or the 20 s timeout) when it waits for the pipes
  });

  it('kills a command that outlives its timeout, with what it started', async () => {
    const err = await runSwitchCommand('sleep 30', { cwd: dir, direction: 'rollback', timeoutMs: 300 }).catch(
      (e: unknown) => e as { code: string; message: string },
    );
    expect(err).toMatchObject({ code: 'SWITCH_COMMAND_FAILED' });
    expect((err as { message: string }).message).toContain('SIGKILL');
  });
});
