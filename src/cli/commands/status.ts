import { Flags } from '@oclif/core';
import { loadConfig } from '../../config/index.js';
import { envBackups } from '../../cutover/backups.js';
import { withClient } from '../../db/connect.js';
import { endpoints, sessionSettings } from '../../db/endpoints.js';
import { checkChain, readAudit } from '../../state/audit.js';
import { readState, unitProgress } from '../../state/snapshot.js';
import { readStreams } from '../../state/stream.js';
import { readUnits } from '../../state/work-units.js';
import { byTable } from '../render/status.js';
import { targetRows } from '../../state/target-rows.js';
import { readStreamReport } from '../../stream/lag.js';
import { PgshiftError } from '../../errors/index.js';
import { BaseCommand } from '../base-command.js';
import { configFlag, jsonFlag } from '../flags.js';
import { writeJson, writeOut } from '../output.js';
import { renderAudit, renderStatus } from '../render/status.js';

export default class Status extends BaseCommand {
  static override description =
    'Show the recorded state on the target: objects created, per table progress, lock holder, last runs, and the change stream (lag, WAL the slot retains).';
  static override flags = {
    config: configFlag,
    json: jsonFlag,
    audit: Flags.boolean({
      description: 'Check the audit trail: every entry hash-chained to the previous one; names the first broken link.',
      default: false,
    }),
  };

  async run(): Promise<void> {
    const { flags } = await this.parse(Status);
    const config = loadConfig(flags.config);
    const eps = endpoints(config);
    const [state, audit, streams, rows, backups, units] = await withClient(
      eps.target,
      sessionSettings(config),
      async (c) => {
        const st = await readState(c);
        const tables = [...new Map(st.checkpoints.map((x) => [`${x.tableSchema}.${x.tableName}`, x])).values()];
        const rows = await targetRows(
          c,
          tables.map((x) => ({ schema: x.tableSchema, name: x.tableName })),
        );
        const backups = await envBackups(c, config.cutover.switch?.envFile);
        const units = st.exists ? await readUnits(c) : [];
        return [st, flags.audit ? await readAudit(c) : [], await readStreams(c), rows, backups, units] as const;
      },
    );
    // the source only when there is a stream to measure; an unreachable source leaves the target's view whole
    const stream = await readStreamReport(config, eps.source, sessionSettings(config), streams);
    const chain = flags.audit ? checkChain(audit) : undefined;
    // the last key copied may be patient data (an MRN, an e-mail): status shows progress, never key values
    // what the copy carried, and what the table holds now (catch-up, final sync, stream and application since)
    // a unit a live lease holds is running (a worker copies it), whatever became of the apply that queued it
    const leased = new Set(units.filter((u) => u.live).map((u) => u.unit));
    const checkpoints = byTable(
      state.checkpoints.map(({ lastKey: _lastKey, ...c }) => ({
        ...c,
        // `running` in the state, but no live run copies it: interrupted (the lock says which)
        status: unitProgress(c, state.lock, leased),
        targetRows: rows.get(`${c.tableSchema}.${c.tableName}`) ?? null,
      })),
    );
    // who holds which unit now: the apply's slots and the workers, with their leases
    const workers = units
      .filter((u) => u.status === 'claimed')
      .map((u) => ({
        unit: u.unit,
        owner: u.owner,
        leaseUntil: u.leaseUntil,
        heartbeatAt: u.heartbeatAt,
        live: u.live,
        claims: u.claims,
      }));
    const queue = {
      units: units.length,
      done: units.filter((u) => u.status === 'done').length,
      failed: units.filter((u) => u.status === 'failed').length,
      claimed: workers.length,
    };
    const view = {
      migration: config.name,
      target: eps.target.display,
      ...state,
      checkpoints,
      queue,
      workers,
      objectCount: Object.keys(state.objects).length,
      envBackups: backups,
      stream,
    };
    if (flags.json) writeJson(chain ? { ...view, audit: { ...chain, trail: audit } } : view);
    else {
      writeOut(renderStatus(view));
      if (chain) writeOut(renderAudit(audit, chain));
    }
    if (chain && !chain.ok) {
      throw new PgshiftError(
        'AUDIT_CHAIN_BROKEN',
        `the audit trail is broken at entry ${chain.brokenAt?.seq}: ${chain.brokenAt?.reason}`,
        {
          hint: 'Someone changed pgshift.audit_log on the target. Keep the database as it is and investigate; entries before it still hold.',
        },
      );
    }
  }
}
