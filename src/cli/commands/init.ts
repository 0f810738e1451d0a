import { existsSync, writeFileSync } from 'node:fs';
import { dirname, relative, resolve } from 'node:path';
import { Flags } from '@oclif/core';
import { introspect } from '../../catalog/introspect.js';
import { SCHEMA_PATH } from '../../config/index.js';
import { DEFAULT_SESSION, withClient } from '../../db/connect.js';
import { commandLineEndpoint } from '../../db/endpoint.js';
import { PgshiftError } from '../../errors/index.js';
import { renderStarter } from '../../init/starter.js';
import { BaseCommand } from '../base-command.js';
import { writeOut } from '../output.js';

export default class Init extends BaseCommand {
  static override description =
    'Introspect the source and write a commented starter migration.yaml (URLs stay in environment variables).';
  static override flags = {
    source: Flags.string({
      description: 'Source database URL (default: $SOURCE_DATABASE_URL). Never written to the file.',
    }),
    out: Flags.string({ description: 'Where to write the config.', default: 'migration.yaml' }),
    force: Flags.boolean({ description: 'Overwrite an existing file.', default: false }),
  };

  async run(): Promise<void> {
    const { flags } = await this.parse(Init);
    const url = flags.source ?? process.env.SOURCE_DATABASE_URL;
    if (!url) {
      throw new PgshiftError('USAGE', 'no source database given', {
        hint: 'Pass --source URL or export SOURCE_DATABASE_URL.',
      });
    }
    const out = resolve(flags.out);
    if (existsSync(out) && !flags.force) {
      throw new PgshiftError('USAGE', `${flags.out} exists already`, {
        hint: 'Pass --force to overwrite it, or --out another file.',
      });
    }
    const ep = commandLineEndpoint('source', url);
    const catalog = await withClient(ep, DEFAULT_SESSION, (c) => introspect(c));
    const schemaRef = relative(dirname(out), SCHEMA_PATH).split('\\').join('/');
    const text = renderStarter(catalog, {
      name: `${ep.database}-migration`.replace(/[^A-Za-z0-9_-]/g, '-').slice(0, 60),
      sourceDisplay: ep.display,
      schemaRef: schemaRef.startsWith('.') ? schemaRef : `./${schemaRef}`,
    });
    writeFileSync(out, text);
    writeOut(
      `Wrote ${flags.out} (${catalog.tables.length} tables). Next: export TARGET_DATABASE_URL, then \`pgshift validate\` and \`pgshift plan\`.`,
    );
  }
}
