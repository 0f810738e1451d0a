import type { Action, ChangeKind, Finding, Plan, PlanStrategy } from '../../plan/model.js';
import { formatBytes } from '../../plan/stream-findings.js';
import { formatSeconds } from './time.js';

const SYMBOL: Record<ChangeKind, string> = { create: '+', resume: '~', update: '~', delete: '-', noop: ' ' };
const PHASES: ReadonlyArray<[Action['phase'], string]> = [
  ['pre-data', 'Schema (before data)'],
  ['data', 'Data'],
  ['post-data', 'Schema (after data)'],
];

/**
 * The stated default rates of the time estimate, from docs/benchmarks.md (gen.sql at scale 1 on the 2-core project
 * machine): rows at pgshift's whole-apply rate (5,000,000 rows in 30.5 s, copies, indexes and the verification:
 * about 160,000 rows/s), bytes at about 100 MiB/s (its data phase moved 128 MiB/s), whichever is slower per table.
 * Summed over that run's four tables this gives 34 s for the 30.5 s measured. Not a measure of this plan's servers.
 */
export const DEFAULT_RATES = { rowsPerSecond: 160_000, bytesPerSecond: 100 * 1024 * 1024 } as const;

/**
 * Large objects: each one costs its own statements (open, read, create, write, owner, grants, its record) on top of
 * its bytes: 10,025 objects of 110 MB (10,000 of 1 kB, 25 of 4 MB) took 2.6 s here, about 6,000 objects/s plus the
 * bytes at the default rate.
 */
export const LARGE_OBJECTS_PER_SECOND = 6_000;

export interface PlanEstimate {
  /** Where the rates come from, in words. */
  readonly basis: string;
  readonly rowsPerSecond: number;
  readonly bytesPerSecond: number;
  /** The sum of the copies' estimates: the whole apply at the default rates. */
  readonly totalSeconds: number;
  readonly copies: ReadonlyArray<{
    readonly address: string;
    readonly rows: number;
    readonly bytes: number;
    readonly seconds: number;
  }>;
}

const BASIS =
  "each copy's rows at 160,000 rows/s or its bytes at 100 MiB/s, whichever takes longer; a stated default rate (pgshift's whole apply of gen.sql at scale 1 on 2 cores, docs/benchmarks.md), not measured on these servers";
const LARGE_OBJECTS_BASIS = 'large objects at 6,000 objects/s plus their bytes at 100 MiB/s';

/**
 * A time for each copy and for the apply, from the copies' estimated rows and bytes at the default rates. The rates
 * are those of a whole apply (indexes and the verification included), so the sum estimates the apply, not only its
 * copies. A resumed copy counts whole (the plan's estimate is of the table); so do the large objects (their line
 * shows their share). Null when the plan copies nothing.
 */
export function estimatePlan(plan: Plan, rates: typeof DEFAULT_RATES = DEFAULT_RATES): PlanEstimate | null {
  const copies = plan.actions.flatMap((a) =>
    a.kind === 'copy_table'
      ? [
          {
            address: a.address,
            rows: a.estimatedRows,
            bytes: a.estimatedBytes,
            seconds: Math.max(a.estimatedRows / rates.rowsPerSecond, a.estimatedBytes / rates.bytesPerSecond),
          },
        ]
      : a.kind === 'large_objects'
        ? [
            {
              address: a.address,
              rows: a.objects,
              bytes: a.estimatedBytes,
              seconds: a.objects / LARGE_OBJECTS_PER_SECOND + a.estimatedBytes / rates.bytesPerSecond,
            },
          ]
        : [],
  );
  if (copies.length === 0) return null;
  return {
    basis: plan.actions.some((a) => a.kind === 'large_objects') ? `${LARGE_OBJECTS_BASIS}; ${BASIS}` : BASIS,
    rowsPerSecond: rates.rowsPerSecond,
    bytesPerSecond: rates.bytesPerSecond,
    totalSeconds: copies.reduce((n, c) => n + c.seconds, 0),
    copies,
  };
}

/** `~13s` (at least a second: a copy never takes no time). */
export function estimateText(seconds: number): string {
  return `~${formatSeconds(Math.max(1, seconds))}`;
}

/** The plan as `--json` prints it: the plan object and, beside it, the time estimate (the saved plan has none). */
export function planJson(plan: Plan): Plan & { estimate?: PlanEstimate } {
  const estimate = estimatePlan(plan);
  return estimate ? { ...plan, estimate } : plan;
}

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

/** A copy's reason with its time estimate (a resumed copy's reason has its own ETA, at its measured rate). */
function reasonOf(a: Action, estimate: PlanEstimate | null, group?: readonly Action[]): string {
  const units = new Set((group ?? [a]).map((x) => x.address));
  const c =
    a.kind === 'copy_table' && a.change !== 'resume' ? estimate?.copies.filter((x) => units.has(x.address)) : [];
  const seconds = c?.reduce((n, x) => n + x.seconds, 0) ?? 0;
  return c && c.length > 0 ? `${a.reason}, ${estimateText(seconds)}` : a.reason;
}

/** `large_objects: 10,000 objects, ~24.0 MiB, ~2s` (and where a resumed copy resumes). */
function largeObjectsLine(a: Action, estimate: PlanEstimate | null): string | undefined {
  if (a.kind !== 'large_objects') return undefined;
  const e = a.change === 'resume' ? undefined : estimate?.copies.find((x) => x.address === a.address);
  return `${a.address}: ${a.reason}${e ? `, ${estimateText(e.seconds)}` : ''}`;
}

/**
 * What the plan shows, one line each: a split table's parts are one line (`copy public.observations: 4 parts`),
 * its key ranges are not shown (their boundaries are sampled at apply time and may be patient identifiers), and
 * a copy's read-back is part of its line.
 */
interface PlanLine {
  readonly action: Action;
  readonly address: string;
  /** The parts of a split table, when this line stands for them. */
  readonly group?: readonly Action[];
}

function planLines(actions: readonly Action[]): PlanLine[] {
  const out: PlanLine[] = [];
  const groups = new Map<string, Action[]>();
  for (const a of actions) {
    // a copy's read-back of its digest is part of the copy: not a line of its own
    if (a.kind === 'read_back') continue;
    if (a.kind !== 'copy_table' || !a.part) {
      out.push({ action: a, address: a.address });
      continue;
    }
    const key = `${a.table.schema}.${a.table.name}`;
    const group = groups.get(key);
    if (group) {
      group.push(a);
      continue;
    }
    const fresh: Action[] = [a];
    groups.set(key, fresh);
    out.push({ action: a, address: `copy ${key}: ${a.part.of} parts`, group: fresh });
  }
  return out;
}

function actionLine(l: PlanLine, width: number, estimate: PlanEstimate | null): string {
  const a = l.action;
  const stream = streamLines(a);
  if (stream) return stream.map((x) => `  ${SYMBOL[a.change]} ${x}`).join('\n');
  const lo = largeObjectsLine(a, estimate);
  if (lo) return `  ${SYMBOL[a.change]} ${lo}`;
  return `  ${SYMBOL[a.change]} ${l.address.padEnd(width)}  ${reasonOf(a, estimate, l.group)}`;
}

/** `Estimated time: ~34s (how)`. */
function estimateLine(e: PlanEstimate): string {
  return `Estimated time: ${estimateText(e.totalSeconds)} for the apply (${e.basis}).`;
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
  const estimate = estimatePlan(plan);
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
    const shown = planLines(plan.actions);
    const width = Math.min(60, Math.max(...shown.map((l) => l.address.length)));
    for (const [phase, title] of PHASES) {
      const inPhase = shown.filter((l) => l.action.phase === phase);
      if (inPhase.length === 0) continue;
      lines.push('', `${title}:`);
      for (const l of inPhase) lines.push(actionLine(l, width, estimate));
    }
  }
  if (plan.findings.length > 0) {
    lines.push('', 'Findings:');
    for (const f of plan.findings) lines.push(findingLine(f));
  }
  lines.push('');
  if (plan.actions.length > 0) lines.push(summaryLine(plan));
  if (plan.actions.length > 0 && estimate) lines.push(estimateLine(estimate));
  return lines.join('\n');
}

function escapeCell(text: string): string {
  return text.replace(/\|/g, '\\|').replace(/\n/g, ' ');
}

/** The same plan for a pull-request comment. */
export function renderPlanMarkdown(plan: Plan): string {
  const lines: string[] = [];
  const estimate = estimatePlan(plan);
  lines.push(`### pgshift plan: \`${plan.migration}\``);
  lines.push('');
  lines.push(
    `**${summaryLine(plan)}**${plan.summary.unchanged ? ` ${plan.summary.unchanged} objects already up to date.` : ''}`,
  );
  lines.push('');
  lines.push(`- source: \`${plan.source}\``);
  lines.push(`- target: \`${plan.target}\``);
  for (const l of strategyLines(plan.strategy)) lines.push(`- ${l}`);
  if (plan.actions.length > 0 && estimate)
    lines.push(`- estimated time: ${estimateText(estimate.totalSeconds)} for the apply (${estimate.basis})`);
  lines.push(
    `- fingerprints: source \`${plan.sourceFingerprint.slice(0, 12)}\`, target \`${plan.targetFingerprint.slice(0, 12)}\`, state \`${plan.stateSerial}\`, config \`${plan.configHash}\``,
  );
  if (plan.actions.length > 0) {
    lines.push('');
    const n = planLines(plan.actions).length;
    lines.push(`<details><summary>${n} action${n === 1 ? '' : 's'}</summary>`);
    lines.push('');
    lines.push('```diff');
    for (const [phase, title] of PHASES) {
      const inPhase = planLines(plan.actions).filter((l) => l.action.phase === phase);
      if (inPhase.length === 0) continue;
      lines.push(`# ${title}`);
      for (const { action: a, address, group } of inPhase) {
        const mark = a.change === 'create' ? '+' : a.change === 'delete' ? '-' : '!';
        const stream = streamLines(a);
        const lo = largeObjectsLine(a, estimate);
        if (stream) for (const l of stream) lines.push(`${mark} ${l}`);
        else if (lo) lines.push(`${mark} ${lo}`);
        else lines.push(`${mark} ${address}  (${reasonOf(a, estimate, group)})`);
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
