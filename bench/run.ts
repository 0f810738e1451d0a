/**
 * `npm run bench`: every benchmark, one after the other (never two at once: they would share the CPUs).
 *   bench/plan-1000.ts  planning a 1,000-table schema (BENCH_TABLES)
 *   bench/copy.ts       copying the clinic dataset (BENCH_SCALE, BENCH_RUNS, ...; see its header)
 *   bench/cutover.ts    the write freeze of a cutover under a writer (BENCH_CUTOVER_SCALES)
 *   bench/split.ts      one large uuid-keyed table split in key ranges, and a worker beside apply (BENCH_SPLIT_*)
 * BENCH_ONLY=plan-1000 or BENCH_ONLY=copy runs just one.
 */
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const only = process.env.BENCH_ONLY;
let failed = 0;
for (const name of ['plan-1000', 'copy', 'cutover', 'split']) {
  if (only && only !== name) continue;
  console.log(`\n## bench/${name}.ts\n`);
  const r = spawnSync(process.execPath, ['--import', 'tsx', path.join(here, `${name}.ts`)], { stdio: 'inherit' });
  if (r.status !== 0) {
    console.error(`bench/${name}.ts failed (${r.signal ?? `exit ${r.status}`})`);
    failed++;
  }
}
process.exitCode = failed ? 1 : 0;
