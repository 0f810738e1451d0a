/**
 * The shared SQL fixtures (real sample databases, a Supabase-like bootstrap) live outside the
 * repository; they are never copied into it.
 */
import fs from 'node:fs';
import path from 'node:path';

import { REPO_ROOT } from './binaries.js';

/** $PGSHIFT_FIXTURES_DIR if set, else <repo>/../shared/fixtures if it exists, else null. */
export function fixturesDir(): string | null {
  const fromEnv = process.env.PGSHIFT_FIXTURES_DIR;
  if (fromEnv) return path.resolve(fromEnv);
  const sibling = path.resolve(REPO_ROOT, '..', 'shared', 'fixtures');
  return fs.existsSync(sibling) ? sibling : null;
}

/** The fixtures directory; throws a plain explanation when it is absent. */
export function requireFixtures(): string {
  const dir = fixturesDir();
  if (dir && fs.existsSync(dir)) return dir;
  const expected = path.resolve(REPO_ROOT, '..', 'shared', 'fixtures');
  throw new Error(
    dir
      ? `The test fixtures are absent: PGSHIFT_FIXTURES_DIR points at ${dir}, which does not exist. ` +
          'Set PGSHIFT_FIXTURES_DIR to the directory that holds realdb/ and supabase-like/.'
      : `The test fixtures are absent: neither PGSHIFT_FIXTURES_DIR is set nor does ${expected} exist. ` +
          'Set PGSHIFT_FIXTURES_DIR to the directory that holds realdb/ and supabase-like/ ' +
          '(e.g. PGSHIFT_FIXTURES_DIR=/path/to/shared/fixtures npx vitest run).',
  );
}
