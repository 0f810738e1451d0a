import type { AuditCheck, AuditEntry } from '../../state/audit.js';
import type { StateSnapshot } from '../../state/snapshot.js';

export interface StatusView extends Omit<StateSnapshot, 'checkpoints'> {
  readonly checkpoints: ReadonlyArray<Omit<StateSnapshot['checkpoints'][number], 'lastKey'>>;
  readonly migration: string;
  readonly target: string;
  readonly objectCount: number;
}

export function renderStatus(s: StatusView): string {
  const lines = [`Migration "${s.migration}" on ${s.target}`];
  if (!s.exists) {
    lines.push('', 'No state yet: pgshift has not applied anything to this target. Run `pgshift plan`.');
    return lines.join('\n');
  }
  lines.push(`  state serial  ${s.serial}`);
  lines.push(`  objects       ${s.objectCount} created by pgshift`);
  lines.push(
    `  lock          ${s.lock ? `${s.lock.lockId} held by ${s.lock.command} run ${s.lock.runId} (${s.lock.operator} on ${s.lock.host}, pid ${s.lock.osPid}) since ${s.lock.acquiredAt.toISOString()}${s.lock.alive ? '' : ' — holder is gone; the next apply takes it over'}` : 'free'}`,
  );
  if (s.cutover) {
    const c = s.cutover;
    const what =
      c.status === 'running'
        ? `${c.direction} stopped after step ${c.step} (\`pgshift ${c.direction}\` completes it${c.direction === 'cutover' ? ', `pgshift rollback` reverts it' : ''})`
        : `${c.direction} ${c.status} ${c.finishedAt ?? ''}`;
    lines.push(`  application   on the ${c.applicationOn}`);
    lines.push(
      `  cutover       ${what}${c.freezeMs !== null ? `, write freeze ${c.freezeMs} ms` : ''}${c.error ? ` (${c.error})` : ''}`,
    );
  }
  if (s.checkpoints.length > 0) {
    lines.push('', 'Tables:');
    const width = Math.max(...s.checkpoints.map((c) => `${c.tableSchema}.${c.tableName}`.length));
    for (const c of s.checkpoints)
      lines.push(
        `  ${c.status.padEnd(8)} ${`${c.tableSchema}.${c.tableName}`.padEnd(width)}  ${c.rowsCopied} rows${c.error ? `  error: ${c.error}` : ''}`,
      );
  }
  if (s.runs.length > 0) {
    lines.push('', 'Last runs:');
    for (const r of s.runs)
      lines.push(
        `  ${r.startedAt}  ${r.command.padEnd(8)} ${r.status.padEnd(11)} ${r.operator}@${r.host}  ${r.id}${r.error ? `  (${r.error})` : ''}`,
      );
  }
  return lines.join('\n');
}

export function renderAudit(entries: readonly AuditEntry[], check: AuditCheck): string {
  const lines = [
    '',
    `Audit trail: ${entries.length} entries, ${check.ok ? 'chain intact' : `BROKEN at entry ${check.brokenAt?.seq} (${check.brokenAt?.reason})`}`,
  ];
  for (const e of entries.slice(-20)) {
    lines.push(
      `  #${e.seq}  ${e.at}  ${e.command.padEnd(8)} ${e.outcome.padEnd(12)} ${e.operator}@${e.host}${e.planHash ? `  plan ${e.planHash}` : ''}  ${e.hash.slice(0, 12)}`,
    );
  }
  return lines.join('\n');
}
