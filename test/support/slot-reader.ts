/**
 * A reader of a logical replication slot over the streaming replication protocol (START_REPLICATION on a replication
 * connection, through pg-copy-streams' CopyBoth stream): the slot is active while it runs, as under a real applier.
 */
import pg from 'pg';
import * as copyStreams from 'pg-copy-streams';
import { quoteIdent, quoteLiteral } from './sql.js';

/** pg-copy-streams' CopyBoth stream (its type declarations do not name it). */
const { both } = copyStreams as unknown as {
  both: (text: string) => pg.Submittable & NodeJS.ReadableStream & { destroy(): void };
};

export interface SlotReader {
  readonly pid: number;
  stop(): Promise<void>;
}

export async function readSlotActively(
  url: string,
  slot: string,
  publication: string,
  applicationName: string,
): Promise<SlotReader> {
  const c = new pg.Client({
    connectionString: url,
    replication: 'database',
    application_name: applicationName,
  } as pg.ClientConfig);
  c.on('error', () => undefined);
  await c.connect();
  const stream = c.query(
    both(
      `START_REPLICATION SLOT ${quoteIdent(slot)} LOGICAL 0/0 (proto_version '1', publication_names ${quoteLiteral(publication)})`,
    ),
  );
  stream.on('error', () => undefined);
  stream.on('data', () => undefined);
  const admin = new pg.Client({ connectionString: url });
  await admin.connect();
  try {
    for (let i = 0; ; i++) {
      const r = await admin.query<{ pid: number | null }>(
        'SELECT active_pid AS pid FROM pg_replication_slots WHERE slot_name = $1',
        [slot],
      );
      const pid = r.rows[0]?.pid;
      if (pid) {
        return {
          pid,
          stop: async () => {
            stream.destroy();
            await c.end().catch(() => undefined);
          },
        };
      }
      if (i > 300) throw new Error(`slot ${slot} did not become active`);
      await new Promise((res) => setTimeout(res, 100));
    }
  } finally {
    await admin.end();
  }
}
