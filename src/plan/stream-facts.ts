/** Reads what the plan needs to know about the change stream (refresh): readiness, pgshift's stream row, its slot. */
import type pg from 'pg';
import type { Catalog } from '../catalog/types.js';
import { logger } from '../log/logger.js';
import { scrub } from '../log/redact.js';
import { readStreams } from '../state/stream.js';
import { streamReadiness } from '../stream/readiness.js';
import { slotStatus } from '../stream/slot-status.js';
import type { StreamFacts } from './stream-plan.js';

export async function readStreamFacts(
  source: pg.ClientBase,
  target: pg.ClientBase,
  catalog: Catalog,
): Promise<StreamFacts> {
  const rows = await readStreams(target);
  const recorded = rows.at(-1);
  try {
    const readiness = await streamReadiness(source, {
      tables: catalog.tables.map((t) => ({ schema: t.schema, name: t.name })),
      ...(recorded ? { slot: recorded.slot } : {}),
    });
    const slot = recorded ? await slotStatus(source, recorded.slot) : undefined;
    return {
      readiness,
      recorded: recorded ? { slot: recorded.slot, publication: recorded.publication } : undefined,
      slot,
    };
  } catch (err) {
    // a source that cannot answer these (a restricted role, a standby): no stream, and the reason
    const reason = scrub(err instanceof Error ? err.message : String(err));
    logger().warn({ reason }, "could not read the source's readiness for a change stream");
    return {
      readiness: {
        ok: false,
        reasons: [`the source's replication settings could not be read (${reason})`],
        tablesNeedingIdentity: [],
      },
      recorded: recorded ? { slot: recorded.slot, publication: recorded.publication } : undefined,
      slot: undefined,
    };
  }
}
