/**
 * The large objects in the plan (pure): one `large_objects` action in the data phase when the source has large
 * objects the copy has not finished, a no-op once the checkpoint says done and the source has no OID past it.
 */
import type { LargeObjectSummary } from '../catalog/large-objects.js';
import type { Catalog } from '../catalog/types.js';
import type { Config } from '../config/types.js';
import { largeObjectRoles } from '../mapping/large-objects.js';
import type { LargeObjectProgress } from '../state/large-objects.js';
import type { LargeObjectClash } from './large-object-facts.js';
import type { Finding, LargeObjectsAction } from './model.js';
import { formatBytes } from './stream-findings.js';

export const LARGE_OBJECTS_ID = 'large_objects';

export interface LargeObjectsPlan {
  readonly actions: readonly LargeObjectsAction[];
  readonly findings: readonly Finding[];
  readonly unchanged: number;
}

const count = (n: number): string => n.toLocaleString('en-US');

/** OIDs compare as unsigned 32-bit integers: as numbers. */
function after(oid: string | null, last: string | null): boolean {
  return oid !== null && (last === null || Number(oid) > Number(last));
}

export function largeObjectsPlan(
  config: Config,
  target: Catalog,
  lo: LargeObjectSummary | undefined,
  progress: LargeObjectProgress | undefined,
  /** Addresses of actions this plan has (role creations the action waits for). */
  planned: ReadonlySet<string>,
  /** Target large objects pgshift did not create with OIDs the source uses too. */
  clash?: LargeObjectClash,
): LargeObjectsPlan {
  if (!config.copy.data || !lo || lo.count === 0) return { actions: [], findings: [], unchanged: 0 };
  const roles = largeObjectRoles(config, target, lo);
  if (progress?.status === 'done' && !after(lo.maxOid, progress.lastOid))
    // copied: what would stop a copy no longer matters
    return { actions: [], findings: roles.findings.filter((f) => f.severity !== 'blocker'), unchanged: 1 };
  const resumeAfter = progress?.lastOid ?? null;
  const what = `${count(lo.count)} objects, ~${formatBytes(lo.estimatedBytes)}`;
  const reason = !progress
    ? what
    : progress.status === 'done'
      ? `${what} (copied up to OID ${resumeAfter ?? '?'}; the source has objects after it)`
      : `${what} (resuming after OID ${resumeAfter ?? '?'}: ${count(progress.objects)} objects, ${formatBytes(progress.bytes)} copied)`;
  const action: LargeObjectsAction = {
    kind: 'large_objects',
    id: LARGE_OBJECTS_ID,
    address: LARGE_OBJECTS_ID,
    dependsOn: roles.needsRoles.map((r) => `role ${r}`).filter((a) => planned.has(a)),
    change: progress ? 'resume' : 'create',
    reason,
    phase: 'data',
    locks: [LARGE_OBJECTS_ID],
    objects: lo.count,
    estimatedBytes: lo.estimatedBytes,
    resumeAfter,
    owners: roles.owners,
    grantees: roles.grantees,
  };
  // a warning, not a blocker: the copy stops at that batch (LARGE_OBJECT_EXISTS), and what it copied before stays
  const clashes: Finding[] = clash
    ? [
        {
          code: 'LARGE_OBJECT_EXISTS',
          severity: 'warning',
          address: LARGE_OBJECTS_ID,
          message: `the target already has ${count(clash.objects)} large object(s) that pgshift did not create with OIDs the source's large objects use (the first: ${clash.first}): the copy stops at the first of them`,
          hint: `Check what uses them on the target; if nothing does, remove them there (SELECT lo_unlink(${clash.first}), ...), or migrate into a target without them.`,
        },
      ]
    : [];
  return { actions: [action], findings: [...roles.findings, ...clashes], unchanged: 0 };
}
