import { Flags } from '@oclif/core';
import { loadConfig } from '../../config/index.js';
import { withClient } from '../../db/connect.js';
import { endpoints, sessionSettings } from '../../plan/refresh.js';
import { readState } from '../../state/snapshot.js';
import { BaseCommand } from '../base-command.js';
import { configFlag, jsonFlag } from '../flags.js';
import { writeJson, writeOut } from '../output.js';
import { renderStatus } from '../render/status.js';

export default class Status extends BaseCommand {
  static override description = 'Show the recorded state on the target: objects created, per table progress, lock holder, last runs.';
  static override flags = {
    config: configFlag,
    json: jsonFlag,
    audit: Flags.boolean({ description: 'Verify the audit trail hash chain (not available yet).', default: false }),
  };

  async run(): Promise<void> {
    const { flags } = await this.parse(Status);
    const config = loadConfig(flags.config);
    const eps = endpoints(config);
    const state = await withClient(eps.target, sessionSettings(config), (c) => readState(c));
    // the last key copied may be patient data (an MRN, an e-mail): status shows progress, never key values
    const checkpoints = state.checkpoints.map(({ lastKey: _lastKey, ...c }) => c);
    const view = { migration: config.name, target: eps.target.display, ...state, checkpoints, objectCount: Object.keys(state.objects).length };
    if (flags.json) writeJson(view);
    else writeOut(renderStatus(view));
  }
}
