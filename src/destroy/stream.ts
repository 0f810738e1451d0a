/**
 * What destroy removes on the source for the change stream: pgshift's slot and publications (the names in the state,
 * and the migration's own names for a slot created but never recorded) and the replica identities pgshift set. One
 * drop_stream action (src/apply/handlers/drop-stream.ts), first in the destroy plan: the state that names these
 * objects goes last.
 */
import type pg from 'pg';
import type { Config } from '../config/types.js';
import type { DropStreamAction } from '../plan/model.js';
import { readReplicaIdentities, readStreams } from '../state/stream.js';
import { identityWord } from '../stream/identity.js';
import { streamNames } from '../stream/names.js';

async function existing(source: pg.ClientBase, slots: string[], pubs: string[]): Promise<string[]> {
  const r = await source.query<{ what: string }>(
    `SELECT 'replication slot ' || slot_name AS what FROM pg_catalog.pg_replication_slots WHERE slot_name = ANY ($1)
     UNION ALL
     SELECT 'publication ' || pubname FROM pg_catalog.pg_publication WHERE pubname = ANY ($2)`,
    [slots, pubs],
  );
  return r.rows.map((x) => x.what).sort((a, b) => (a < b ? 1 : a > b ? -1 : 0)); // slots before publications
}

export async function streamDropAction(
  config: Config,
  source: pg.ClientBase,
  state: pg.ClientBase,
): Promise<DropStreamAction | undefined> {
  const db = (await source.query<{ db: string }>('SELECT current_database() AS db')).rows[0]?.db;
  const names = streamNames(config.name, db);
  const rows = await readStreams(state);
  const slots = [...new Set([names.slot, ...rows.map((r) => r.slot)])];
  const pubs = [
    ...new Set([
      names.publication,
      names.insertsPublication,
      ...rows.flatMap((r) => [r.publication, r.insertsPublication ?? `${r.publication}_inserts`]),
    ]),
  ];
  const drops = await existing(source, slots, pubs);
  const identities: Array<{ schema: string; name: string; from: string; to: string }> = [];
  for (const r of await readReplicaIdentities(state)) {
    const now = await source.query<{ ident: 'd' | 'n' | 'f' | 'i' }>(
      `SELECT c.relreplident AS ident FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
        WHERE n.nspname = $1 AND c.relname = $2`,
      [r.schema, r.name],
    );
    const ident = now.rows[0]?.ident;
    if (ident && ident !== r.oldIdentity)
      identities.push({ schema: r.schema, name: r.name, from: identityWord(ident), to: identityWord(r.oldIdentity) });
  }
  if (drops.length === 0 && identities.length === 0 && rows.length === 0) return undefined;
  return {
    kind: 'drop_stream',
    id: 'stream',
    address: `replication slot ${rows.at(-1)?.slot ?? names.slot}`,
    dependsOn: [],
    change: 'delete',
    reason: 'the change stream pgshift created on the source',
    phase: 'pre-data',
    locks: [],
    slot: names.slot,
    publication: names.publication,
    insertsPublication: names.insertsPublication,
    drops,
    identities,
  };
}

/** The destroy plan's lines for the stream: `- replication slot x`, `- publication y`, `~ replica identity of ...`. */
export function streamDropLines(a: DropStreamAction): string[] {
  return [
    ...a.drops.map((d) => `- ${d}`),
    ...a.identities.map((i) => `~ replica identity of ${i.schema}.${i.name}: ${i.from} -> ${i.to}`),
  ];
}
