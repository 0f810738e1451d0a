import type pg from 'pg';
import { introspect } from '../catalog/introspect.js';
import { readLargeObjectSummary, type LargeObjectSummary } from '../catalog/large-objects.js';
import type { Catalog } from '../catalog/types.js';
import type { Config } from '../config/types.js';
import { connectClient } from '../db/connect.js';
import { endpoints, sessionSettings, type Endpoints } from '../db/endpoints.js';
import { assertSessionPooling } from '../db/pooler.js';
import { endpointFacts, gatherServerFacts, preflight, preflightFindings } from '../preflight/index.js';
import type { ServerFacts } from '../preflight/facts.js';
import { readState, type StateSnapshot } from '../state/snapshot.js';
import { configHash } from './config-hash.js';
import { computePlan } from './diff.js';
import { readStreamFacts } from './stream-facts.js';
import { readLargeObjectClash, type LargeObjectClash } from './large-object-facts.js';
import type { StreamFacts } from './stream-plan.js';
import type { Plan } from './model.js';

export interface Refreshed {
  readonly source: Catalog;
  readonly target: Catalog;
  readonly state: StateSnapshot;
  /** Preflight facts of both servers (src/preflight), judged by planFrom. */
  readonly servers?: { readonly source: ServerFacts; readonly target: ServerFacts };
  /** The source's readiness for a change stream and pgshift's slot. */
  readonly stream?: StreamFacts;
  /** The source's large objects (count, owners, grantees, what the source role cannot read). */
  readonly largeObjects?: LargeObjectSummary;
  /** Target large objects pgshift did not create with OIDs the source uses too. */
  readonly largeObjectClash?: LargeObjectClash;
}

/** Reads both catalogs and the state (read-only on both sides). */
export async function refresh(sourceClient: pg.ClientBase, targetClient: pg.ClientBase): Promise<Refreshed> {
  const [source, target] = await Promise.all([introspect(sourceClient), introspect(targetClient)]);
  const state = await readState(targetClient);
  const [sourceFacts, targetFacts] = await Promise.all([
    gatherServerFacts(sourceClient),
    gatherServerFacts(targetClient),
  ]);
  const stream = await readStreamFacts(sourceClient, targetClient, source);
  const largeObjects = await readLargeObjectSummary(sourceClient);
  const clash = largeObjects.count > 0 ? await readLargeObjectClash(sourceClient, targetClient) : undefined;
  return {
    source,
    target,
    state,
    servers: { source: sourceFacts, target: targetFacts },
    stream,
    largeObjects,
    ...(clash ? { largeObjectClash: clash } : {}),
  };
}

export function planFrom(config: Config, eps: Endpoints, r: Refreshed): Plan {
  const plan = computePlan({
    config,
    configHash: configHash(config),
    source: r.source,
    target: r.target,
    state: r.state,
    sourceDisplay: eps.source.display,
    targetDisplay: eps.target.display,
    ...(r.stream ? { stream: r.stream } : {}),
    ...(r.largeObjects ? { largeObjects: r.largeObjects } : {}),
    ...(r.largeObjectClash ? { largeObjectClash: r.largeObjectClash } : {}),
  });
  // preflight findings (TLS, extensions, headroom, statement timeout) judge only what does not move between plan
  // and apply, so a saved plan stays identical to the plan apply recomputes
  const facts = {
    source: { endpoint: endpointFacts(eps.source), ...(r.servers ? { server: r.servers.source } : {}) },
    target: { endpoint: endpointFacts(eps.target), ...(r.servers ? { server: r.servers.target } : {}) },
    copyParallel: config.copy.parallel,
  };
  return { ...plan, findings: [...plan.findings, ...preflightFindings(preflight(facts, 'plan'))] };
}

/** `pgshift plan`: connect, refresh, diff. */
export async function makePlan(config: Config): Promise<Plan> {
  const eps = endpoints(config);
  const session = sessionSettings(config);
  await assertSessionPooling([eps.source, eps.target], session);
  const [s, t] = await Promise.all([connectClient(eps.source, session), connectClient(eps.target, session)]);
  try {
    return planFrom(config, eps, await refresh(s, t));
  } finally {
    await Promise.all([s.end().catch(() => undefined), t.end().catch(() => undefined)]);
  }
}
