import { configError, formatProblem, parseConfig, readConfigText } from '../../config/index.js';
import { BaseCommand } from '../base-command.js';
import { configFlag, jsonFlag } from '../flags.js';
import { writeErr, writeJson, writeOut } from '../output.js';

export default class Validate extends BaseCommand {
  static override description =
    'Validate migration.yaml (YAML, ${VAR} references, the JSON Schema in schemas/, and meaning); print FILE:LINE:COL: message for each problem.';
  static override flags = { config: configFlag, json: jsonFlag };

  async run(): Promise<void> {
    const { flags } = await this.parse(Validate);
    const file = flags.config;
    const text = readConfigText(file);
    const result = parseConfig(text, file);
    if (flags.json) {
      writeJson({ file, valid: result.problems.length === 0, problems: result.problems, env: result.envUsed });
    }
    if (result.problems.length > 0) {
      for (const p of result.problems) writeErr(formatProblem(file, p));
      // the same code as plan or apply would fail with on this file (CONFIG_ENV_MISSING, CONFIG_YAML_SYNTAX...)
      throw configError(file, result.problems, false);
    }
    if (!flags.json) writeOut(`${file} is valid (migration "${result.config?.name}").`);
  }
}
