/**
 * Whether a source transaction is already in a copy: the copy read a pg_snapshot (`xmin:xmax:xip,...`, 64-bit xids)
 * and a change of transaction X is in it exactly when X is visible to that snapshot, as pg_visible_in_snapshot says.
 * The Begin message carries X as a 32-bit xid: widen it first.
 */

export interface PgSnapshot {
  readonly xmin: bigint;
  readonly xmax: bigint;
  readonly xip: readonly bigint[];
}

const XID_SPAN = 1n << 32n;
const HALF = 1n << 31n;

/** Parses pg_snapshot text (pg_current_snapshot()::text). */
export function parseSnapshot(text: string): PgSnapshot {
  const m = /^(\d+):(\d+):([\d,]*)$/.exec(text.trim());
  if (!m) throw new TypeError('not a pg_snapshot text');
  const xip = m[3] === '' ? [] : (m[3] as string).split(',').map((x) => BigInt(x));
  return { xmin: BigInt(m[1] as string), xmax: BigInt(m[2] as string), xip };
}

/**
 * The 64-bit xid (xid8) of a 32-bit xid, taken as the one within 2^31 of `reference` (a full xid of about the same
 * time: the snapshot's xmax). Exact across an epoch wrap on either side, as long as fewer than 2^31 transactions lie
 * between the two (the server's own wraparound limit).
 */
export function widenXid(xid: number, reference: bigint): bigint {
  const x = BigInt(xid >>> 0);
  let full = (reference & ~(XID_SPAN - 1n)) | x;
  if (full > reference + HALF) full -= XID_SPAN;
  else if (full < reference - HALF) full += XID_SPAN;
  return full < 0n ? x : full;
}

/** pg_visible_in_snapshot(xid8, snapshot) for a committed transaction. */
export function visibleInSnapshot(xid8: bigint, snap: PgSnapshot): boolean {
  if (xid8 < snap.xmin) return true;
  if (xid8 >= snap.xmax) return false;
  return !snap.xip.includes(xid8);
}

/** Whether the source transaction with 32-bit xid `xid` is visible to the snapshot whose text is `snapshotText`. */
export function visible(xid: number | bigint, snapshotText: string | PgSnapshot): boolean {
  const snap = typeof snapshotText === 'string' ? parseSnapshot(snapshotText) : snapshotText;
  const full = typeof xid === 'bigint' ? xid : widenXid(xid, snap.xmax);
  return visibleInSnapshot(full, snap);
}
