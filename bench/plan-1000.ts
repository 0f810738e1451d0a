/**
 * Benchmark: planning a 1,000-table schema.
 *  1. pure: computePlan + text rendering over a synthetic catalog (no IO);
 *  2. real: `plan` work on embedded servers (introspect a PG 15 source with 1,000 generated tables and an empty
 *     PG 17 target, read the state, diff), then an apply of that schema.
 * Prints a markdown table for docs/benchmarks.md.
 */
import { performance } from 'node:perf_hooks';
import { apply } from '../src/apply/apply.js';
import { fingerprint } from '../src/catalog/fingerprint.js';
import type { Catalog, CatalogObject } from '../src/catalog/types.js';
import { renderPlanText } from '../src/cli/render/plan.js';
import { parseConfig } from '../src/config/load.js';
import { computePlan } from '../src/plan/diff.js';
import { configHash } from '../src/plan/config-hash.js';
import { makePlan } from '../src/plan/refresh.js';
import { EMPTY_STATE_SERIAL } from '../src/state/snapshot.js';
import { startEmbedded } from '../test/support/embedded.js';
import { placeholderSpec } from '../test/support/specs.js';
import { manyTablesSql } from '../test/support/schemas.js';
import { withPg } from '../test/support/sql.js';

const N = Number(process.env.BENCH_TABLES ?? 1000);

function synthetic(n: number): Catalog {
  const objects: CatalogObject[] = [];
  const base = { schema: 'app', owner: 'app', acl: null } as const;
  objects.push({
    ...base,
    kind: 'schema',
    spec: placeholderSpec('schema'),
    address: 'schema app',
    name: 'app',
    schema: null,
    table: null,
    phase: 'pre-data',
    createSql: ['CREATE SCHEMA "app"'],
    definition: 'schema app',
    dependsOn: [],
  });
  for (let i = 1; i <= n; i++) {
    const table = { schema: 'app', name: `t${i}` };
    const t = `table app.t${i}`;
    const mk = (
      kind: CatalogObject['kind'],
      address: string,
      phase: 'pre-data' | 'post-data',
      deps: string[],
    ): CatalogObject => ({
      ...base,
      kind,
      spec: placeholderSpec(kind),
      address,
      name: address.split(' ')[1] ?? address,
      table,
      phase,
      createSql: [`-- ${address}`],
      definition: `${address} definition with some length to hash`,
      dependsOn: deps,
    });
    objects.push(
      mk('sequence', `sequence app.t${i}_id_seq`, 'pre-data', ['schema app']),
      mk('table', t, 'pre-data', ['schema app', `sequence app.t${i}_id_seq`]),
      mk('constraint', `constraint app.t${i}.t${i}_pkey`, 'post-data', [t]),
      mk('index', `index app.t${i}_name_idx`, 'post-data', [t]),
      mk('trigger', `trigger app.t${i}.t${i}_touch`, 'post-data', [t]),
      mk('sequence_value', `sequence_value app.t${i}_id_seq`, 'post-data', [`sequence app.t${i}_id_seq`]),
    );
    if (i > 1)
      objects.push(
        mk('constraint', `constraint app.t${i}.t${i}_ref_fk`, 'post-data', [
          t,
          `constraint app.t${i - 1}.t${i - 1}_pkey`,
        ]),
      );
  }
  return { serverVersionNum: 150000, database: 'bench', fingerprint: fingerprint(objects), objects, tables: [] };
}

function config(src: string, tgt: string) {
  const r = parseConfig(
    `version: 1\nname: bench\nsource:\n  url: ${src}\ntarget:\n  url: ${tgt}\ncopy: { data: false, parallel: 4 }\n`,
    'bench.yaml',
    {},
  );
  if (!r.config) throw new Error(JSON.stringify(r.problems));
  return r.config;
}

async function main(): Promise<void> {
  const rows: string[] = [];
  const cat = synthetic(N);
  const empty: Catalog = {
    serverVersionNum: 170000,
    database: 'bench',
    fingerprint: fingerprint([]),
    objects: [],
    tables: [],
  };
  const cfg = config('postgres://a:b@127.0.0.1:1/s', 'postgres://a:b@127.0.0.1:2/t');
  const state = {
    exists: false,
    serial: EMPTY_STATE_SERIAL,
    objects: {},
    checkpoints: [],
    runs: [],
    lock: undefined,
    lastVerification: undefined,
  };
  let t0 = performance.now();
  const plan = computePlan({
    config: cfg,
    configHash: configHash(cfg),
    source: cat,
    target: empty,
    state,
    sourceDisplay: 's',
    targetDisplay: 't',
  });
  const pureMs = performance.now() - t0;
  t0 = performance.now();
  renderPlanText(plan);
  const renderMs = performance.now() - t0;
  rows.push(
    `| pure diff, synthetic ${N} tables (${cat.objects.length} objects -> ${plan.actions.length} actions) | ${pureMs.toFixed(0)} ms |`,
  );
  rows.push(`| text rendering of that plan | ${renderMs.toFixed(0)} ms |`);
  t0 = performance.now();
  computePlan({
    config: cfg,
    configHash: configHash(cfg),
    source: cat,
    target: cat,
    state,
    sourceDisplay: 's',
    targetDisplay: 't',
  });
  rows.push(
    `| pure diff, ${N} tables already on the target (No changes) | ${(performance.now() - t0).toFixed(0)} ms |`,
  );

  const [src, tgt] = await Promise.all([startEmbedded({ major: 15 }), startEmbedded({ major: 17 })]);
  try {
    await withPg(src.url(), (c) => c.query(manyTablesSql(N, 'app')));
    const real = config(src.url(), tgt.url());
    t0 = performance.now();
    const p = await makePlan(real);
    rows.push(
      `| \`plan\` on real servers: introspect 15 + 17, state, diff (${p.actions.length} actions) | ${(performance.now() - t0).toFixed(0)} ms |`,
    );
    t0 = performance.now();
    const r = await apply({ config: real, confirm: async () => true });
    rows.push(
      `| \`apply\` of that schema (parallel 4; status ${r.status}) | ${((performance.now() - t0) / 1000).toFixed(1)} s |`,
    );
    t0 = performance.now();
    const again = await makePlan(real);
    rows.push(
      `| second \`plan\` (${again.actions.length === 0 ? 'No changes' : `${again.actions.length} actions`}) | ${(performance.now() - t0).toFixed(0)} ms |`,
    );
  } finally {
    await Promise.all([src.dispose(), tgt.dispose()]);
  }
  console.log(`| measure (${N} tables) | time |\n| --- | --- |\n${rows.join('\n')}`);
}

await main();
