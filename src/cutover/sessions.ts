import type pg from 'pg';
import type { Config } from '../config/types.js';
import { connectClient } from '../db/connect.js';
import { assertSessionPooling } from '../db/pooler.js';
import { endpoints, sessionSettings } from '../db/endpoints.js';

/** The sessions of a cutover or rollback: the control session (state and lock) and one on each side (the freeze). */
export interface Sessions {
  readonly control: pg.Client;
  readonly source: pg.Client;
  readonly target: pg.Client;
  close(): Promise<void>;
}

export async function openSessions(config: Config): Promise<Sessions> {
  const eps = endpoints(config);
  const s = sessionSettings(config);
  await assertSessionPooling([eps.source, eps.target], s); // the lock and the freeze need one server session each
  const [control, source, target] = await Promise.all([
    connectClient(eps.target, s),
    connectClient(eps.source, s),
    connectClient(eps.target, s),
  ]);
  return {
    control,
    source,
    target,
    close: async () => void (await Promise.all([control, source, target].map((c) => c.end().catch(() => undefined)))),
  };
}
