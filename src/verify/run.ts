import { randomUUID } from 'node:crypto';
import type pg from 'pg';
import { introspect } from '../catalog/introspect.js';
import type { TableInfo } from '../catalog/types.js';
import type { Config } from '../config/types.js';
import { connectClient } from '../db/connect.js';
import { assertSessionPooling } from '../db/pooler.js';
import { logger } from '../log/logger.js';
import { endpoints, sessionSettings } from '../db/endpoints.js';
import { Scope } from '../catalog/scope.js';
import { stateDb } from '../state/db.js';
import { appendAudit } from '../state/audit.js';
import { copyStartTimes, readDigests, sumDigests, type UnitDigest } from '../state/checkpoints.js';
import { parsePart, tableUnit } from '../state/unit-names.js';
import { matches, readBack } from './read-back.js';
import { migrateState } from '../state/migrations.js';
import { currentOperator } from '../state/runs.js';
import { storeVerification } from '../state/verifications.js';
import { canHashRecords, digestRecipe, sameRecipe, VERIFY_SESSION_SQL } from './expressions.js';
import { useKeySecret } from './key-secret.js';
import type { TableResult, VerifyReport } from './report.js';
import { compareSample } from './sample.js';
import { schemaParity, sequencesBehind } from './schema.js';
import { checkTable, type Sides } from './tables.js';
import { compareLargeObjects } from './large-objects.js';
import { pairsByTarget, schemaNaming, type TablePair } from '../mapping/table-pairs.js';
import { mapForTarget, withTargetOverrides } from '../mapping/target-map.js';
import { readStreams } from '../state/stream.js';

export interface VerifyOptions {
  /** Full range checksums whatever the policy says. */
  readonly full?: boolean;
  readonly showValues?: boolean;
  /** The apply run this verification belongs to, if any. */
  readonly runId?: string;
  readonly planHash?: string;
  /**
   * Every difference fails, even one the source's xmin explains as written since the copy: inside a cutover's or a
   * rollback's freeze the two sides must be equal.
   */
  readonly strict?: boolean;
  /**
   * Compare the rows of these tables only (`schema.name`); the schema parity still covers everything. For the
   * verification inside a freeze: the other tables were just proven unchanged (no row written since the catch-up,
   * equal counts on both sides).
   */
  readonly onlyTables?: ReadonlySet<string>;
  /** Inside apply: the worker session to use for the target (no extra target connection is opened). */
  readonly targetClient?: pg.Client;
  /**
   * Inside apply, right after its copies: a table whose copy digested what it read is proven by reading the target
   * back alone (or by the read-back its copy already did in this run); the others compare both sides.
   */
  readonly copyDigests?: { readonly runId: string };
  /** Rows checked so far and in all (moves while tables are read). */
  readonly onProgress?: (rowsChecked: number, rowsTotal: number) => void;
}

async function openSides(config: Config): Promise<Sides & { close(): Promise<void> }> {
  const eps = endpoints(config);
  const session = sessionSettings(config);
  const [source, target] = await Promise.all([connectClient(eps.source, session), connectClient(eps.target, session)]);
  const readOnly = `${VERIFY_SESSION_SQL}; SET default_transaction_read_only = on`;
  await Promise.all([source.query(readOnly), target.query(readOnly)]);
  return {
    source,
    target,
    close: async () =>
      void (await Promise.all([source.end().catch(() => undefined), target.end().catch(() => undefined)])),
  };
}

/**
 * Runs the verification policy (or --full) and stores the report in pgshift.verifications. Only counts, hashes
 * and keys cross the wire and reach the report; values only with showValues.
 */
export async function runVerification(config: Config, opts: VerifyOptions = {}): Promise<VerifyReport> {
  const started = performance.now();
  const id = randomUUID();
  useKeySecret(config); // keys that are not shown are hashed with this migration's secret
  const full = opts.full === true || config.verify.checksums === 'full';
  const eps = endpoints(config);
  const session = sessionSettings(config);
  const own = opts.targetClient === undefined;
  if (own) await assertSessionPooling([eps.source, eps.target], session);
  const control = opts.targetClient ?? (await connectClient(eps.target, session));
  const sourceMeta = await connectClient(eps.source, session);
  try {
    const [rawSource, target] = await Promise.all([introspect(sourceMeta), introspect(control)]);
    // compared as it must read on the target (extension schema, schemas.map): those rewrites are expected
    const mapping = mapForTarget(config, rawSource, target);
    const overrides = withTargetOverrides(config).tables.overrides;
    const source = mapping.catalog;
    const scope = new Scope(config, source);
    const tables = source.tables
      .filter(
        (t) =>
          t.kind !== 'partitioned' &&
          scope.tableInScope(t.schema, t.name) &&
          (!opts.onlyTables || opts.onlyTables.has(`${t.schema}.${t.name}`)),
      )
      .sort((a, b) => b.estimatedBytes - a.estimatedBytes || (a.name < b.name ? -1 : 1));
    // each table as the source names it (read there) and as it landed on the target: the one pairing of the mapping
    const pairs = pairsByTarget(mapping.pairs);
    const pairOf = (t: TableInfo): TablePair => pairs.get(`${t.schema}.${t.name}`) ?? { source: t, target: t };
    const copyStarted = await copyStartTimes(control);
    // the copies' digests, unless a change stream has written to the target since (then both sides are compared)
    const streamed = (await readStreams(control)).some((r) => r.transactions > 0);
    const digests = opts.copyDigests && !streamed ? await readDigests(control) : undefined;
    const thisRun = opts.copyDigests?.runId;
    // progress: rows of the tables finished plus rows read so far of those being read
    const totalRows = tables.reduce((n, t) => n + Math.max(0, t.estimatedRows), 0);
    let finishedRows = 0;
    const reading = new Map<TableInfo, number>();
    const progress = (): void =>
      opts.onProgress?.(finishedRows + [...reading.values()].reduce((n, x) => n + x, 0), totalRows);
    const tick =
      (t: TableInfo) =>
      (rows: number): void => {
        reading.set(t, rows);
        progress();
      };
    const done = (t: TableInfo): void => {
      reading.delete(t);
      finishedRows += Math.max(0, t.estimatedRows);
      progress();
    };
    const recordHash = canHashRecords(rawSource.serverVersionNum, target.serverVersionNum);
    const results = new Map<TableInfo, TableResult>();
    const queue = [...tables];
    // inside apply: one worker on the apply's own target session (the connection budget is already spent)
    const workers = own ? Math.max(1, Math.min(config.copy.parallel, tables.length)) : 1;
    if (!own) await control.query(VERIFY_SESSION_SQL);
    await Promise.all(
      Array.from({ length: workers }, async () => {
        const sides = own ? await openSides(config) : await borrowTarget(config, control);
        try {
          for (let t = queue.shift(); t; t = queue.shift()) {
            const override = overrides[`${t.schema}.${t.name}`]?.key;
            const updatedAtColumn =
              overrides[`${t.schema}.${t.name}`]?.updatedAtColumn ?? config.verify.updatedAtColumn;
            const started = copyStarted.get(`copy ${t.schema}.${t.name}`);
            const xmin = opts.strict ? undefined : started?.xmin;
            const o = {
              full,
              recordHash,
              showValues: opts.showValues === true,
              ...(override ? { keyOverride: override } : {}),
              ...(xmin
                ? { writtenSince: { xmin } }
                : updatedAtColumn && started && !opts.strict
                  ? { writtenSince: { column: updatedAtColumn, copyStarted: started.at } }
                  : {}),
            };
            const pair = pairOf(t);
            const proven =
              full && digests ? await provenByDigest(t, pair, digests, sides.target, tick(t), thisRun) : undefined;
            let r = proven ?? (await checkTable(pair, sides, o));
            if (!full && config.verify.sample.percent > 0 && r.keyed) {
              const s = await compareSample(pair, sides, config.verify.sample, override);
              r = { ...r, sample: s.result, differences: [...r.differences, ...s.differences], checksum: r.checksum };
            }
            results.set(t, r);
            done(t);
            logger().debug({ table: r.table, checksum: r.checksum, differences: r.differences.length }, 'verified');
          }
        } finally {
          await sides.close();
        }
      }),
    );
    const tableResults = tables.map((t) => results.get(t) as TableResult);
    const migratedTables = new Set(
      source.tables.filter((t) => scope.tableInScope(t.schema, t.name)).map((t) => `${t.schema}.${t.name}`),
    );
    const sequences = await sequencesBehind(control, migratedTables, {
      client: sourceMeta,
      schemaOnSource: schemaNaming(config).onSource,
      live: !opts.strict,
      // a stream that has applied source transactions (inserts among them, perhaps)
      streaming: !opts.strict && (await readStreams(control)).some((r) => r.transactions > 0),
    });
    const schema = [...schemaParity(source, target, scope, !opts.strict), ...sequences.differences];
    // the large objects, by OID: each server digests its own (not inside a freeze's verification of some tables)
    const largeObjects = opts.onlyTables ? undefined : await compareLargeObjects(sourceMeta, control);
    // a table whose every difference is a write on the live source since its copy is right as of the copy
    const explained = (r: TableResult): boolean => r.unexplained === 0;
    const withDiffs = tableResults.filter(
      (r) => !explained(r) && (r.rowsSource !== r.rowsTarget || r.checksum === 'mismatch' || r.differences.length > 0),
    );
    const report: VerifyReport = {
      id,
      ok: withDiffs.length === 0 && schema.length === 0 && (largeObjects?.differing ?? 0) === 0,
      policy: {
        rowCounts: config.verify.rowCounts,
        checksums: full ? 'full' : config.verify.checksums,
        sample: config.verify.sample,
      },
      tables: tableResults,
      schema,
      findings: sequences.findings,
      ...(largeObjects ? { largeObjects } : {}),
      summary: {
        tables: tableResults.length,
        tablesWithDifferences: withDiffs.length,
        rowDifferences: tableResults.reduce(
          (n, r) => n + (explained(r) ? 0 : (r.unexplained ?? r.differences.length)),
          0,
        ),
        changedSinceCopy: tableResults.reduce((n, r) => n + (r.changedSinceCopy ?? 0), 0),
        pendingFinalSync: tableResults.reduce((n, r) => n + (r.pendingFinalSync ?? 0), 0),
        schemaDifferences: schema.length,
        ...(largeObjects ? { largeObjectDifferences: largeObjects.differing } : {}),
        rowsCompared: tableResults.reduce((n, r) => n + r.rowsSource, 0),
        ms: Math.round(performance.now() - started),
      },
    };
    await storeReport(control, report, opts);
    return report;
  } finally {
    await Promise.all([
      own ? control.end().catch(() => undefined) : undefined,
      sourceMeta.end().catch(() => undefined),
    ]);
  }
}

/**
 * A table proven by its copy's digest: the digest was taken with the recipe the pairing gives now, and the target
 * read back (by the copy in this run, or now) holds exactly those rows. Undefined: compare both sides instead.
 */
async function provenByDigest(
  t: TableInfo,
  pair: TablePair,
  digests: ReadonlyMap<string, UnitDigest>,
  target: pg.ClientBase,
  onRows: (rows: number) => void,
  thisRun?: string,
): Promise<TableResult | undefined> {
  const whole = `copy ${t.schema}.${t.name}`;
  const recipe = digestRecipe(pair.source, pair.target);
  // a split table: the sum of its parts' digests (all of them done, hashed alike)
  const partUnit = [...digests.keys()].find((u) => parsePart(u) !== undefined && tableUnit(u) === whole);
  const part = partUnit ? parsePart(partUnit) : undefined;
  const units =
    digests.has(whole) || !part
      ? [whole]
      : Array.from({ length: part.of }, (_v, i) => `${whole} [${i + 1}/${part.of}]`);
  const d = sumDigests(units, digests, recipe, sameRecipe);
  if (!d) return undefined;
  // read back by the copy of this very run (its last batch and its read-back): nothing else wrote there since
  const fresh = d.verified !== null && thisRun !== undefined && d.runIds.includes(thisRun);
  const ok = fresh ? d.verified === 'match' : matches(d, await readBack(target, pair.target, recipe, onRows));
  if (!ok) return undefined;
  return {
    table: `${t.schema}.${t.name}`,
    keyed: (pair.key ?? t.key ?? []).length > 0,
    rowsSource: d.rows,
    rowsTarget: d.rows,
    checksum: 'match',
    differences: [],
    proof: 'copy-digest',
  };
}

/** A source session of its own, the given target session (left open). */
async function borrowTarget(config: Config, target: pg.Client): Promise<Sides & { close(): Promise<void> }> {
  const source = await connectClient(endpoints(config).source, sessionSettings(config));
  await source.query(`${VERIFY_SESSION_SQL}; SET default_transaction_read_only = on`);
  return { source, target, close: async () => void (await source.end().catch(() => undefined)) };
}

/**
 * What the state keeps: with --show-values, a key that is shown only because of the flag is kept as its hash (the
 * same hash a run without the flag reports); values are shown, never stored. Integer and uuid keys stay as they are.
 */
function storable(report: VerifyReport, showValues: boolean): VerifyReport {
  if (!showValues) return report;
  return {
    ...report,
    tables: report.tables.map((t) => ({
      ...t,
      differences: t.differences.map(({ key, ...d }) => (d.keyHash !== undefined || !key ? d : { ...d, key })),
    })),
  };
}

async function storeReport(target: pg.Client, report: VerifyReport, opts: VerifyOptions): Promise<void> {
  await migrateState(stateDb(target));
  await storeVerification(target, {
    id: report.id,
    runId: opts.runId ?? null,
    planHash: opts.planHash ?? null,
    passed: report.ok,
    policy: report.policy,
    summary: report.summary,
    report: storable(report, opts.showValues === true),
  });
  await appendAudit(target, {
    command: 'verify',
    ...currentOperator(),
    ...(opts.runId ? { runId: opts.runId } : {}),
    ...(opts.planHash ? { planHash: opts.planHash } : {}),
    outcome: report.ok ? 'passed' : 'failed',
    counts: {
      tables: report.summary.tables,
      rowsCompared: report.summary.rowsCompared,
      rowDifferences: report.summary.rowDifferences,
      schemaDifferences: report.summary.schemaDifferences,
    },
  });
}
