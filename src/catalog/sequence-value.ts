/**
 * A sequence's value: its position (last_value, is_called: what setval() sets), read, set, compared in the
 * sequence's direction and written as a catalog definition. The catalog reader, the plan, apply's
 * set_sequence_value, the cutover's sequence sync and verify all go through here.
 */
import type pg from 'pg';
import { qualified, quoteLiteral } from '../db/ident.js';

/** Where a sequence stands: last_value (a bigint as text) and is_called. */
export interface SequencePosition {
  readonly last: string;
  readonly called: boolean;
}

interface SequenceName {
  readonly schema: string;
  readonly name: string;
}

/** Sequences per query: a UNION ALL of one SELECT per sequence (a sequence is a relation of its own). */
const CHUNK = 500;

/**
 * The positions of the given sequences, in their order, read in one UNION ALL query per 500 (no catalog view holds
 * is_called for all of them).
 */
export async function readSequencePositions(
  client: pg.ClientBase,
  sequences: readonly SequenceName[],
): Promise<Array<SequencePosition | undefined>> {
  const out: Array<SequencePosition | undefined> = sequences.map(() => undefined);
  for (let i = 0; i < sequences.length; i += CHUNK) {
    const chunk = sequences.slice(i, i + CHUNK);
    const sql = chunk
      .map(
        (s, j) =>
          `SELECT $${j + 1}::pg_catalog.int4 AS i, last_value::pg_catalog.text AS last_value, is_called FROM ${qualified(s.schema, s.name)}`,
      )
      .join('\nUNION ALL\n');
    const r = await client.query<{ i: number; last_value: string; is_called: boolean }>(
      sql,
      chunk.map((_, j) => j),
    );
    for (const row of r.rows) out[i + row.i] = { last: row.last_value, called: row.is_called };
  }
  return out;
}

/** One sequence's position, or undefined when it returned no row. */
export async function readSequencePosition(
  client: pg.ClientBase,
  seq: SequenceName,
): Promise<SequencePosition | undefined> {
  return (await readSequencePositions(client, [seq]))[0];
}

/** Sets the sequence to exactly this position (values as parameters). */
export async function setSequencePosition(
  client: pg.ClientBase,
  seq: SequenceName,
  pos: SequencePosition,
): Promise<void> {
  await client.query('SELECT pg_catalog.setval($1::pg_catalog.regclass, $2::bigint, $3)', [
    qualified(seq.schema, seq.name),
    pos.last,
    pos.called,
  ]);
}

/**
 * Sets the sequence to this position only when that raises it, in its direction (INCREMENT BY < 0 counts down):
 * never lowers it. One statement, so the current value is read where it is set. Returns whether it set.
 */
export async function raiseSequenceTo(
  client: pg.ClientBase,
  seq: SequenceName,
  pos: SequencePosition,
): Promise<boolean> {
  const r = await client.query<{ set: string }>(
    `SELECT pg_catalog.setval(p.seqrelid, $2::bigint, $3::boolean)::text AS set
       FROM ${qualified(seq.schema, seq.name)} s, pg_catalog.pg_sequence p
      WHERE p.seqrelid = $1::pg_catalog.regclass
        AND NOT (CASE WHEN p.seqincrement < 0 THEN s.last_value < $2::bigint ELSE s.last_value > $2::bigint END
                 OR (s.last_value = $2::bigint AND (s.is_called OR NOT $3::boolean)))`,
    [qualified(seq.schema, seq.name), pos.last, pos.called],
  );
  return r.rows.length > 0;
}

/**
 * `a` is at or past `b`: (last_value, is_called) in the sequence's direction, is_called false before true. Setting a
 * sequence at or past a value to that value would lower it (or change nothing).
 */
export function sequenceAtOrPast(a: SequencePosition, b: SequencePosition, descending = false): boolean {
  const x = BigInt(a.last);
  const y = BigInt(b.last);
  if (x !== y) return descending ? x < y : x > y;
  return a.called || !b.called;
}

/** The setval() statement that sets this position, as plans and hints show it. */
export function setvalSql(seq: SequenceName, pos: SequencePosition): string {
  return `SELECT pg_catalog.setval(${quoteLiteral(qualified(seq.schema, seq.name))}, ${BigInt(pos.last).toString()}, ${pos.called ? 'true' : 'false'})`;
}

/** A sequence_value object's definition: `last_value=42 is_called=t`. */
export function positionDefinition(pos: SequencePosition): string {
  return `last_value=${pos.last} is_called=${pos.called ? 't' : 'f'}`;
}

/** The position in a sequence_value definition, or undefined when it is not one. */
export function parsePositionDefinition(definition: string): SequencePosition | undefined {
  const m = /^last_value=(-?\d+) is_called=([tf])$/.exec(definition);
  return m?.[1] && m[2] ? { last: m[1], called: m[2] === 't' } : undefined;
}
