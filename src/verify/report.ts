/** A verification report: counts, hashes and keys only; column values only with --show-values. */
import type { LargeObjectsResult } from './large-objects.js';

export type { LargeObjectDifference, LargeObjectsResult } from './large-objects.js';

export type DifferenceKind = 'missing' | 'extra' | 'changed' | 'duplicate';

export interface RowDifference {
  readonly kind: DifferenceKind;
  /** The row's key (integer and uuid keys as they are; other keys as a hash unless --show-values). */
  readonly key?: Readonly<Record<string, string>>;
  readonly keyHash?: string;
  /** For tables without a key: the row's hash and how many copies differ. */
  readonly rowHash?: string;
  readonly count?: number;
  /** For `changed`: the columns that differ (names, never values). */
  readonly columns?: readonly string[];
  /**
   * On a live source (the copy's snapshot xmin, or verify.updated_at_column, tells rows written since the copy):
   * `changed-since-copy` when the source row was written after its table's copy began (the final sync re-copies
   * it), `copy-error` when it was not (a wrong copy: a failure), `gone-from-source` for a row only on the target
   * (a key the source deleted since the copy; for a table without a key, a row deleted or rewritten since): no write
   * leaves a trace to explain it by, so it is pending the final sync, which deletes it.
   */
  readonly cause?: 'changed-since-copy' | 'copy-error' | 'gone-from-source';
}

export interface SampleResult {
  readonly size: number;
  readonly mismatches: number;
  /** With no mismatch: the mismatch rate is below this at 95% confidence (1 - 0.05^(1/n)). */
  readonly upperBound95: number | null;
  readonly seed: number;
}

export interface TableResult {
  readonly table: string;
  readonly keyed: boolean;
  readonly rowsSource: number;
  readonly rowsTarget: number;
  readonly checksum: 'match' | 'mismatch' | 'skipped';
  readonly buckets?: number;
  readonly sample?: SampleResult;
  readonly differences: readonly RowDifference[];
  /** More differences than the report lists. */
  readonly truncated?: boolean;
  /**
   * On a live source, when every differing bucket was read: differences NOT explained by writes on the source
   * since the table's copy began (copy errors; 0: the target is right as of the copy and the cutover's final sync
   * carries the rest), and how many were explained.
   */
  readonly unexplained?: number;
  readonly changedSinceCopy?: number;
  /** On a live source: rows only on the target (gone from the source since the copy), for the final sync to delete. */
  readonly pendingFinalSync?: number;
  /**
   * `copy-digest`: proven without reading the source again: the target read back equals the digest of what the
   * copy's batches read on the source, each in its own snapshot (inside apply, before anything else wrote there).
   */
  readonly proof?: 'copy-digest';
}

export interface SchemaDifference {
  readonly address: string;
  readonly kind: 'missing' | 'different' | 'sequence_behind';
  readonly detail?: string;
}

/**
 * A condition worth acting on that is not a difference: the target is a faithful copy of it (e.g. a sequence the
 * source itself left behind its column). Never fails the verification, never blocks the cutover.
 */
export interface VerifyFinding {
  readonly code: 'SEQUENCE_BEHIND_ON_SOURCE' | 'SEQUENCE_BEHIND_STREAMED_ROWS';
  readonly severity: 'warning';
  readonly address: string;
  readonly message: string;
  /** The next step (for a sequence: the exact setval() to run). */
  readonly hint: string;
}

export interface VerifyReport {
  readonly id: string;
  readonly ok: boolean;
  readonly policy: {
    readonly rowCounts: boolean;
    readonly checksums: 'none' | 'sampled' | 'full';
    readonly sample: { percent: number; minRows: number; maxRows: number; seed: number };
  };
  readonly tables: readonly TableResult[];
  readonly schema: readonly SchemaDifference[];
  /** Warnings that are not differences (absent in reports stored before they existed). */
  readonly findings?: readonly VerifyFinding[];
  /** The large objects, by OID (absent when neither side has one, or when only some tables were compared). */
  readonly largeObjects?: LargeObjectsResult;
  readonly summary: {
    readonly tables: number;
    readonly tablesWithDifferences: number;
    readonly rowDifferences: number;
    /** Differences explained by writes on the live source since the copy (verify.updated_at_column): not failures. */
    readonly changedSinceCopy?: number;
    /** Rows gone from the live source since their copy (deleted, or a keyless row rewritten): the final sync removes them. */
    readonly pendingFinalSync?: number;
    readonly schemaDifferences: number;
    /** Large objects missing, extra or changed on the target (absent: none compared). */
    readonly largeObjectDifferences?: number;
    readonly rowsCompared: number;
    readonly ms: number;
  };
}

/** 1 - 0.05^(1/n): with n samples and no mismatch, the mismatch rate is below this at 95% confidence. */
export function upperBound95(n: number): number | null {
  return n > 0 ? 1 - Math.pow(0.05, 1 / n) : null;
}

/** `2 table(s), 0 schema object(s) and 1 large object(s)`: what differs, as the failure messages say it. */
export function differing(s: VerifyReport['summary']): string {
  const lo = s.largeObjectDifferences ?? 0;
  return lo > 0
    ? `${s.tablesWithDifferences} table(s), ${s.schemaDifferences} schema object(s) and ${lo} large object(s)`
    : `${s.tablesWithDifferences} table(s) and ${s.schemaDifferences} schema object(s)`;
}
