/**
 * Child-process entry running follow() (the exactly-once kill test SIGKILLs it):
 *   node --import tsx test/support/stream-follow-main.ts
 * Settings in PGSHIFT_FOLLOW (JSON): sourceUrl, targetUrl, slot, publications, tables, untilLsn?, maxBatchChanges?.
 * Prints `PROGRESS <appliedLsn> <transactions>` after every target commit and `DONE <json result>` at the end;
 * SIGTERM stops it through the abort signal.
 */
import { DEFAULT_SESSION } from '../../src/db/connect.js';
import { follow, type FollowTable } from '../../src/stream/follow.js';
import { endpointOf } from './stream.js';

interface Settings {
  sourceUrl: string;
  targetUrl: string;
  slot: string;
  publications: string[];
  tables: FollowTable[];
  untilLsn?: string;
  maxBatchChanges?: number;
}

const s = JSON.parse(process.env.PGSHIFT_FOLLOW ?? '{}') as Settings;
const abort = new AbortController();
process.on('SIGTERM', () => abort.abort());

follow({
  source: endpointOf(s.sourceUrl, 'source'),
  target: endpointOf(s.targetUrl, 'target'),
  settings: DEFAULT_SESSION,
  slot: s.slot,
  publications: s.publications,
  tables: s.tables,
  signal: abort.signal,
  ...(s.untilLsn ? { untilLsn: s.untilLsn } : {}),
  ...(s.maxBatchChanges ? { maxBatchChanges: s.maxBatchChanges } : {}),
  onProgress: (p) => process.stdout.write(`PROGRESS ${p.appliedLsn} ${p.transactions}\n`),
}).then(
  (r) => {
    process.stdout.write(`DONE ${JSON.stringify(r)}\n`);
    process.exit(0);
  },
  (err: unknown) => {
    process.stderr.write(`FAILED ${(err as { code?: string }).code ?? ''} ${(err as Error).message}\n`);
    process.exit(1);
  },
);
