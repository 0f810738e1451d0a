/**
 * The names of pgshift's replication slot and publications on the source, derived from the migration's name: the same
 * migration always finds its own objects again (plan, destroy, doctor), two migrations never share one.
 */
import { createHash } from 'node:crypto';

export interface StreamNames {
  readonly slot: string;
  readonly publication: string;
  readonly insertsPublication: string;
}

/** Longest part of the migration name kept in clear: pgshift_ + 40 + _ + 6 hex + _inserts stays under 63 bytes. */
const CLEAR = 40;

/**
 * pgshift_<migration name sanitised to [a-z0-9_]>_<6 hex of a hash of the whole name>, at most 63 bytes and a valid
 * slot name (slot names allow only lower-case letters, digits and underscores). The publication has the slot's name;
 * the inserts-only publication adds `_inserts`. `sourceDatabase` (the source's database name) goes into the hash only.
 */
export function streamNames(migrationName: string, sourceDatabase?: string): StreamNames {
  const clean =
    migrationName
      .toLowerCase()
      .replace(/[^a-z0-9_]+/g, '_')
      .replace(/_+/g, '_')
      .replace(/^_|_$/g, '')
      .slice(0, CLEAR)
      .replace(/_$/, '') || 'migration';
  // slot names are per cluster: the source database in the hash keeps two databases' migrations of one name apart
  const hashed = sourceDatabase === undefined ? migrationName : `${migrationName}\u0000${sourceDatabase}`;
  const hash = createHash('sha256').update(hashed, 'utf8').digest('hex').slice(0, 6);
  const slot = `pgshift_${clean}_${hash}`;
  return { slot, publication: slot, insertsPublication: `${slot}_inserts` };
}
