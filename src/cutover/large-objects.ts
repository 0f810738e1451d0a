import { carryBackLargeObjects, syncLargeObjects, type LargeObjectSyncResult } from '../copy/large-objects.js';
import { formatBytes } from '../plan/stream-findings.js';
import { configuredLargeObjectRoles, rollbackLargeObjectRoles } from '../mapping/large-objects.js';
import type { StepContext } from './step.js';

/**
 * The large objects' part of a cutover step (the catch-up before the freeze, the final sync or the stream's fence
 * inside it): the objects created, resized or unlinked on the source since the copy (src/copy/large-objects.ts).
 * Nothing without `copy.data`. Writes of large objects are not frozen themselves: an application's object and the
 * row that refers to it are written in one transaction, which the freeze of that table refuses as a whole.
 */
export async function syncCutoverLargeObjects(
  ctx: StepContext,
  checkDeadline?: () => void,
): Promise<LargeObjectSyncResult | null> {
  if (!ctx.config.copy.data) return null;
  return syncLargeObjects(ctx.s.source, ctx.s.target, {
    runId: ctx.id,
    roles: configuredLargeObjectRoles(ctx.config),
    // before the freeze (no deadline) the content is compared too; inside it, sizes only
    ...(checkDeadline ? { checkDeadline } : { compareContent: true }),
  });
}

/** `, 3 large objects copied (1.2 MB), 1 unlinked` for a step's detail; empty when nothing moved. */
export function largeObjectsDetail(r: LargeObjectSyncResult | null): string {
  if (!r || (r.copied === 0 && r.unlinked === 0)) return '';
  const parts = [
    ...(r.copied > 0 ? [`${r.copied} large objects copied (${formatBytes(r.bytes)})`] : []),
    ...(r.unlinked > 0 ? [`${r.unlinked} large objects unlinked`] : []),
  ];
  return `, ${parts.join(', ')}`;
}

/** The rollback's part (its catch-up, and the carry-back inside the target's freeze): the cutover's sync, reversed. */
export async function carryBackCutoverLargeObjects(
  ctx: StepContext,
  checkDeadline?: () => void,
): Promise<LargeObjectSyncResult | null> {
  if (!ctx.config.copy.data) return null;
  return carryBackLargeObjects(ctx.s.target, ctx.s.source, {
    runId: ctx.id,
    roles: rollbackLargeObjectRoles(ctx.config),
    ...(checkDeadline ? { checkDeadline } : { compareContent: true }),
  });
}
