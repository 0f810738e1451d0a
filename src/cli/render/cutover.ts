import type { CutoverResult } from '../../cutover/cutover.js';
import type { CutoverPlan } from '../../cutover/plan.js';

function seconds(ms: number): string {
  return ms < 1000 ? `${ms} ms` : `${(ms / 1000).toFixed(1)} s`;
}

/** The cutover plan, like a terraform plan: one `>` line per step. */
export function renderCutoverPlan(p: CutoverPlan, verb: 'cutover' | 'rollback' = 'cutover'): string {
  const width = Math.max(...p.steps.map((s) => s.title.length), 10);
  const lines = [
    `pgshift will perform these ${verb} steps${p.resumeFrom ? ` (resuming an interrupted ${verb} after step ${p.resumeFrom})` : ''}:`,
    '',
  ];
  for (const s of p.steps) lines.push(`  > ${s.title.padEnd(width)}  ${s.detail}`);
  lines.push('');
  for (const n of p.notes) lines.push(`  ${n}`);
  lines.push(
    '',
    `${verb === 'cutover' ? 'Cutover' : 'Rollback'}: ${p.steps.length} steps, ${p.tables} tables, ${p.sequences} sequences, write freeze at most ${seconds(p.maxWriteFreezeMs)}.`,
  );
  return lines.join('\n');
}

export function renderCutoverResult(r: CutoverResult, rollbackWindowMs: number): string {
  if (r.status === 'already')
    return 'Already cut over: the application points at the target. Nothing to do (`pgshift status` shows when; `pgshift rollback` reverts it).';
  if (r.status === 'cancelled') return 'Cutover cancelled.';
  const until = new Date(Date.now() + rollbackWindowMs).toISOString();
  return [
    `Cutover complete! Write freeze ${r.freezeMs === null ? 'n/a' : seconds(r.freezeMs)}; ${r.sync.catchUp.written + r.sync.final.written} rows re-copied, ${r.sync.catchUp.deleted + r.sync.final.deleted} deleted, ${r.sequences} sequences set.`,
    'The source stays frozen: stray writes to it fail.',
    `\`pgshift rollback\` can move the application back until about ${until}.`,
  ].join('\n');
}
