/**
 * The paced writer of bench/cutover.ts: a fixed number of writes per second spread over a few client connections,
 * as an application would write: inserts into a small hot table, updates of random rows of the largest table, and
 * now and then a delete of an old row of the hot table. A write refused by pgshift's freeze (25006) is retried every
 * 10 ms until it passes; on each refusal the connection reads its database URL again (`urlOf`, the env file that the
 * cutover switches) and reconnects when it changed, as an application reloading its configuration would. The writer
 * records the longest gap between two acknowledged writes inside a window.
 */
import pg from 'pg';

export interface WriterTarget {
  /** the hot table, `bench_live (id bigserial PRIMARY KEY, note text, at timestamptz)`, qualified */
  readonly hot: string;
  /** the largest table, qualified, with its integer key (quoted) and the key's range */
  readonly big: { readonly table: string; readonly key: string; readonly min: number; readonly max: number };
}

export interface WriterStats {
  /** acknowledged writes (one statement each: insert, update or delete), and per kind */
  writes: number;
  inserts: number;
  updates: number;
  deletes: number;
  /** writes refused by the freeze (25006) and retried */
  retries: number;
  /** slots given up because the writer was more than a second behind its schedule */
  missed: number;
  /** the other errors (they stop nothing: the write is dropped) */
  errors: number;
  /** connections that moved to a new database URL */
  switched: number;
  elapsedMs: number;
}

export interface Writer {
  /** writes acknowledged so far (live) */
  readonly stats: WriterStats;
  /** starts a window: the longest gap between two acknowledged writes from now until windowEnd() */
  windowStart(): void;
  windowEnd(): { maxGapMs: number; writes: number; ms: number };
  stop(): Promise<WriterStats>;
}

const FROZEN = '25006';

export function startWriter(
  url: string,
  t: WriterTarget,
  o: {
    readonly perSecond: number;
    readonly connections: number;
    readonly log: (m: string) => void;
    /** the database URL the application would use now (read again after each refused write) */
    readonly urlOf?: () => string;
  },
): Writer {
  const stats: WriterStats = {
    writes: 0,
    inserts: 0,
    updates: 0,
    deletes: 0,
    retries: 0,
    missed: 0,
    errors: 0,
    switched: 0,
    elapsedMs: 0,
  };
  const interval = 1000 / o.perSecond;
  const t0 = performance.now();
  let next = 0; // the next slot of the schedule: due at t0 + next * interval
  let stopping = false;
  const live: number[] = []; // ids of hot rows, oldest first: a delete takes the oldest
  let win: { start: number; last: number; maxGap: number; writes: number } | null = null;
  let logged = 0;

  const ack = (): void => {
    stats.writes++;
    if (!win) return;
    const now = performance.now();
    win.maxGap = Math.max(win.maxGap, now - win.last);
    win.last = now;
    win.writes++;
  };

  const one = async (c: pg.Client, r: number): Promise<void> => {
    if (r < 0.05 && live.length > 100) {
      const id = live.shift() as number;
      await c.query(`DELETE FROM ${t.hot} WHERE id = $1`, [id]);
      stats.deletes++;
    } else if (r < 0.5) {
      const q = await c.query<{ id: string }>(`INSERT INTO ${t.hot} (note) VALUES ($1) RETURNING id`, [
        `w${stats.writes}`,
      ]);
      live.push(Number(q.rows[0]?.id));
      stats.inserts++;
    } else {
      const id = t.big.min + Math.floor(Math.random() * (t.big.max - t.big.min + 1));
      await c.query(`UPDATE ${t.big.table} SET ${t.big.key} = ${t.big.key} WHERE ${t.big.key} = $1`, [id]);
      stats.updates++;
    }
  };

  const connect = async (to: string): Promise<pg.Client> => {
    const c = new pg.Client({ connectionString: to });
    c.on('error', (err) => o.log(`writer connection: ${err.message}`));
    await c.connect();
    return c;
  };

  const worker = async (): Promise<void> => {
    let at = url;
    let c = await connect(at);
    try {
      while (!stopping) {
        const now = performance.now();
        if (t0 + next * interval < now - 1000) {
          // more than a second behind: give the slots up (the achieved rate shows it), keep the pace from now
          const behind = Math.floor((now - t0) / interval) - next;
          stats.missed += behind;
          next += behind;
        }
        const due = t0 + next++ * interval;
        if (due > now) await new Promise((res) => setTimeout(res, due - now));
        const r = Math.random();
        for (;;) {
          try {
            await one(c, r);
            ack();
            break;
          } catch (err) {
            const code = (err as { code?: string }).code;
            if (code === FROZEN && !stopping) {
              stats.retries++;
              const now = o.urlOf?.() ?? at;
              if (now !== at) {
                // switched: the application moves to the new database (retrying there at once)
                await c.end().catch(() => undefined);
                at = now;
                c = await connect(at);
                stats.switched++;
                continue;
              }
              await new Promise((res) => setTimeout(res, 10));
              continue;
            }
            stats.errors++;
            if (performance.now() - logged > 5000) {
              logged = performance.now();
              o.log(`writer: ${code ?? ''} ${(err as Error).message}`);
            }
            break;
          }
        }
      }
    } finally {
      await c.end().catch(() => undefined);
    }
  };

  const done = Promise.all(Array.from({ length: o.connections }, () => worker()));
  return {
    stats,
    windowStart: () => {
      const now = performance.now();
      win = { start: now, last: now, maxGap: 0, writes: 0 };
    },
    windowEnd: () => {
      const w = win ?? { start: 0, last: 0, maxGap: 0, writes: 0 };
      win = null;
      const now = performance.now();
      return { maxGapMs: Math.max(w.maxGap, now - w.last), writes: w.writes, ms: now - w.start };
    },
    stop: async () => {
      stopping = true;
      await done.catch((err: unknown) => o.log(`writer failed: ${(err as Error).message}`));
      stats.elapsedMs = performance.now() - t0;
      return stats;
    },
  };
}
