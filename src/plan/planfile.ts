import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { PgshiftError } from '../errors/index.js';
import { scrubDeep } from '../log/redact.js';
import { canonicalJson, sha256 } from '../state/hash.js';
import type { Plan } from './model.js';

export interface SavedPlan {
  readonly plan: Plan;
  /** sha256 of the plan's canonical JSON: recorded in the runs of the apply that used it. */
  readonly hash: string;
}

export function planHash(plan: Plan): string {
  return sha256(canonicalJson(plan)).slice(0, 16);
}

/**
 * What a plan decides, without what it only estimates: the actions (in address order, since copies are ordered
 * largest first) with their row and size estimates and reason text left out. On a live source the estimates move
 * with every insert; a reviewed plan must still apply when nothing it decides has changed.
 */
export function decisionHash(plan: Plan): string {
  const actions = plan.actions
    .map((a) =>
      a.kind === 'copy_table'
        ? { ...a, estimatedRows: 0, estimatedBytes: 0, rowMicros: 0, reason: '' }
        : a.kind === 'read_back'
          ? { ...a, estimatedRows: 0, estimatedBytes: 0 }
          : a.kind === 'large_objects'
            ? { ...a, objects: 0, estimatedBytes: 0, reason: '' }
            : a,
    )
    .sort((x, y) => (x.id < y.id ? -1 : x.id > y.id ? 1 : 0));
  // the WAL a slot retains moves all the time: it decides nothing (the findings it raises do)
  const strategy = plan.strategy ? { strategy: plan.strategy.strategy, why: plan.strategy.why } : undefined;
  return sha256(canonicalJson({ ...plan, actions, strategy })).slice(0, 16);
}

/** Writes the plan atomically (temp file + rename). It holds no secret: URLs are redacted and scrubbed again. */
export function savePlan(file: string, plan: Plan): SavedPlan {
  const safe = scrubDeep(plan);
  const hash = planHash(safe);
  mkdirSync(dirname(file), { recursive: true });
  const tmp = `${file}.tmp-${process.pid}`;
  writeFileSync(tmp, `${JSON.stringify({ ...safe, hash }, null, 2)}\n`);
  renameSync(tmp, file);
  return { plan: safe, hash };
}

export function loadPlan(file: string): SavedPlan {
  let data: unknown;
  try {
    data = JSON.parse(readFileSync(file, 'utf8'));
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new PgshiftError('PLAN_INVALID', `cannot read plan file ${file}${code ? ` (${code})` : ': not valid JSON'}`, {
      hint: 'Create one with `pgshift plan --out plans/NAME.plan.json`.',
    });
  }
  const p = data as Partial<Plan> & { hash?: string };
  if (p.formatVersion !== 1 || !Array.isArray(p.actions) || typeof p.sourceFingerprint !== 'string') {
    throw new PgshiftError('PLAN_INVALID', `${file} is not a pgshift plan (format version 1)`, {
      hint: 'Create one with `pgshift plan --out plans/NAME.plan.json`.',
    });
  }
  const { hash, ...plan } = p;
  const actual = planHash(plan as Plan);
  if (hash !== actual) {
    throw new PgshiftError(
      'PLAN_STALE',
      `${file} was edited after it was saved (hash ${hash ?? 'missing'} != ${actual})`,
      {
        hint: 'Make a new plan with `pgshift plan --out` and have it reviewed again.',
      },
    );
  }
  return { plan: plan as Plan, hash: actual };
}

export interface Freshness {
  readonly configHash: string;
  readonly sourceFingerprint: string;
  readonly targetFingerprint: string;
  readonly stateSerial: string;
}

/** PLAN_STALE when the config, either catalog or the state moved since the plan was made. */
export function assertFresh(saved: Plan, now: Freshness, file: string): void {
  const moved: string[] = [];
  if (saved.configHash !== now.configHash) moved.push('the config (migration.yaml)');
  if (saved.sourceFingerprint !== now.sourceFingerprint) moved.push("the source's schema");
  if (saved.targetFingerprint !== now.targetFingerprint) moved.push("the target's schema");
  if (saved.stateSerial !== now.stateSerial) moved.push("pgshift's state on the target");
  if (moved.length > 0) {
    throw new PgshiftError(
      'PLAN_STALE',
      `the saved plan ${file} is stale: ${moved.join(', ')} changed since it was made`,
      {
        hint: 'Run `pgshift plan --out` again, review it, and apply the new plan.',
      },
    );
  }
}
