import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface ConfigDir {
  readonly dir: string;
  /** Writes migration.yaml (or `name`) into the folder and returns its path. */
  write(yaml: string, name?: string): string;
  remove(): void;
}

/** A temporary folder for a test's migration.yaml and its companions (CA files, env files). */
export function configDir(label: string): ConfigDir {
  const dir = mkdtempSync(join(tmpdir(), `pgshift-${label.replace(/\W+/g, '-')}-`));
  return {
    dir,
    write(yaml: string, name = 'migration.yaml'): string {
      const file = join(dir, name);
      writeFileSync(file, yaml);
      return file;
    },
    remove(): void {
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** A minimal config whose URLs come from SOURCE_DATABASE_URL / TARGET_DATABASE_URL, as users write it. */
export function minimalConfig(extra = ''): string {
  return `version: 1
name: test
source:
  url: \${SOURCE_DATABASE_URL}
target:
  url: \${TARGET_DATABASE_URL}
${extra}`;
}
