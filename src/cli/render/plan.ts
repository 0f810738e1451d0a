import type { Action, ChangeKind, Finding, Plan, PlanStrategy } from '../../plan/model.js';
import { formatBytes } from '../../plan/stream-findings.js';

const SYMBOL: Record<ChangeKind, string> = { create: '+', resume: '~', update: '~', delete: '-', noop: ' ' };
const PHASES: ReadonlyArray<[Action['phase'], string]> = [
  ['pre-data', 'Schema (before data)'],
  ['data', 'Data'],
  ['post-data', 'Schema (after data)'],
];

export function summaryLine(plan: Plan): string {
  if (plan.actions.length === 0) return 'No changes.';
  const s = plan.summary;
  return `Plan: ${s.add} to add, ${s.resume} to resume, ${s.change} to change, ${s.destroy} to destroy.`;
}

/** The change stream as the objects it makes on the source: its publication(s), then its slot. */
function streamLines(a: Action): string[] | undefined {
  if (a.kind !== 'create_stream') return undefined;
  const all = a.tables.filter((t) => t.mode === 'all').length;
  const inserts = a.tables.length - all;
  return [
    `publication ${a.publication} (${all} tables)`,
    ...(inserts > 0 ? [`publication ${a.insertsPublication} (${inserts} tables, inserts only)`] : []),
    `replication slot ${a.slot} (pgoutput)`,
  ];
}

function actionLine(a: Action, width: number): string {
  const stream = streamLines(a);
  if (stream) return stream.map((l) => `  ${SYMBOL[a.change]} ${l}`).join('\n');
  return `  ${SYMBOL[a.change]} ${a.address.padEnd(width)}  ${a.reason}`;
}

/** `strategy: stream (why)`, and the WAL pgshift's slot holds back on the source. */
export function strategyLines(s: PlanStrategy | undefined): string[] {
  if (!s) return [];
  const lines = [`strategy: ${s.strategy} (${s.why})`];
  if (s.slot) {
    const keep = s.slot.maxSlotWalKeepSizeMb === null ? 'unlimited' : `${s.slot.maxSlotWalKeepSizeMb}MB`;
    const retained = s.slot.retainedBytes === null ? 'unknown' : formatBytes(s.slot.retainedBytes);
    lines.push(
      `replication slot ${s.slot.name}: retains ${retained} of WAL (wal_status ${s.slot.walStatus ?? 'unknown'}, max_slot_wal_keep_size ${keep})`,
    );
  }
  return lines;
}

function findingLine(f: Finding): string {
  const mark = f.severity === 'blocker' ? 'Error' : 'Warning';
  return `  ${mark} [${f.code}]: ${f.message}${f.hint ? `\n    Hint: ${f.hint}` : ''}`;
}

/** The terraform-like text view. Rendering never computes: it only draws the plan object. */
export function renderPlanText(plan: Plan): string {
  const lines: string[] = [];
  lines.push(`pgshift plan for migration "${plan.migration}"`);
  lines.push(`  source ${plan.source}`);
  lines.push(`  target ${plan.target}`);
  for (const l of strategyLines(plan.strategy)) lines.push(`  ${l}`);
  lines.push('');
  if (plan.actions.length === 0 && plan.findings.some((f) => f.severity === 'blocker')) {
    lines.push('No changes: pgshift will not change the target (the error below says why).');
  } else if (plan.actions.length === 0) {
    lines.push(`No changes. The target matches the desired state (${plan.summary.unchanged} objects up to date).`);
  } else {
    lines.push('pgshift will perform the following actions:');
    lines.push('  + create   ~ resume or update   - destroy');
    const width = Math.min(60, Math.max(...plan.actions.map((a) => a.address.length)));
    for (const [phase, title] of PHASES) {
      const inPhase = plan.actions.filter((a) => a.phase === phase);
      if (inPhase.length === 0) continue;
      lines.push('', `${title}:`);
      for (const a of inPhase) lines.push(actionLine(a, width));
    }
  }
  if (plan.findings.length > 0) {
    lines.push('', 'Findings:');
    for (const f of plan.findings) lines.push(findingLine(f));
  }
  lines.push('');
  if (plan.actions.length > 0) lines.push(summaryLine(plan));
  return lines.join('\n');
}

function escapeCell(text: string): string {
  return text.replace(/\|/g, '\\|').replace(/\n/g, ' ');
}

/** The same plan for a pull-request comment. */
export function renderPlanMarkdown(plan: Plan): string {
  const lines: string[] = [];
  lines.push(`### pgshift plan: \`${plan.migration}\``);
  lines.push('');
  lines.push(
    `**${summaryLine(plan)}**${plan.summary.unchanged ? ` ${plan.summary.unchanged} objects already up to date.` : ''}`,
  );
  lines.push('');
  lines.push(`- source: \`${plan.source}\``);
  lines.push(`- target: \`${plan.target}\``);
  for (const l of strategyLines(plan.strategy)) lines.push(`- ${l}`);
  lines.push(
    `- fingerprints: source \`${plan.sourceFingerprint.slice(0, 12)}\`, target \`${plan.targetFingerprint.slice(0, 12)}\`, state \`${plan.stateSerial}\`, config \`${plan.configHash}\``,
  );
  if (plan.actions.length > 0) {
    lines.push('');
    lines.push(`<details><summary>${plan.actions.length} action${plan.actions.length === 1 ? '' : 's'}</summary>`);
    lines.push('');
    lines.push('```diff');
    for (const [phase, title] of PHASES) {
      const inPhase = plan.actions.filter((a) => a.phase === phase);
      if (inPhase.length === 0) continue;
      lines.push(`# ${title}`);
      for (const a of inPhase) {
        const mark = a.change === 'create' ? '+' : a.change === 'delete' ? '-' : '!';
        const stream = streamLines(a);
        if (stream) for (const l of stream) lines.push(`${mark} ${l}`);
        else lines.push(`${mark} ${a.address}  (${a.reason})`);
      }
    }
    lines.push('```');
    lines.push('');
    lines.push('</details>');
  }
  if (plan.findings.length > 0) {
    lines.push('');
    lines.push('#### Findings');
    lines.push('');
    lines.push('| severity | code | object | message |');
    lines.push('| --- | --- | --- | --- |');
    for (const f of plan.findings)
      lines.push(
        `| ${f.severity} | \`${f.code}\` | ${f.address ? `\`${escapeCell(f.address)}\`` : ''} | ${escapeCell(f.message)} |`,
      );
  }
  return lines.join('\n');
}
