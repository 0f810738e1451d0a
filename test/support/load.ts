/**
 * Load generator for the zero-downtime tests: N concurrent clients (and a few read-only ones) issue a mix of reads and writes against the
 * test application service (app-service.ts) until stopped or for a duration, and record what a user would see:
 * every acknowledged write (id, when it was sent, when it was acknowledged), every failed request (status,
 * error), read latencies (p50/p95/max), and the longest gap between consecutive write acknowledgements (the write
 * pause the application observed).
 *
 *   const load = startLoad({ baseUrl: app.baseUrl, clients: 8 });
 *   … cutover …
 *   const summary = await load.stop();        // or: await runLoad({ baseUrl, durationMs: 3000 })
 *
 * Reads ask for an id acknowledged earlier (or one of `readIds`), so every read should find its row: a 404 is
 * not counted as a failure but listed in `notFound` (ids and times), for the test to judge — a read of a row
 * the database in use does not hold is a lost write unless the test switched databases on purpose.
 */
import { randomUUID } from 'node:crypto';

export interface LoadOptions {
  /** http://127.0.0.1:<port> of the service */
  baseUrl: string;
  /** concurrent clients (8) */
  clients?: number;
  /**
   * clients that only read (2), besides `clients`: a closed-loop client waits for its write, so during a write
   * freeze every mixed client ends up waiting for one, and only these keep reading
   */
  readers?: number;
  /** share of the mixed clients' requests that are writes, 0..1 (0.3) */
  writeRatio?: number;
  /** stop by itself after this long; without it, run until stop() */
  durationMs?: number;
  /** ids that exist from the start and may be read (besides the acknowledged writes) */
  readIds?: readonly string[];
  /** pause of each client between two requests, ms (2) */
  thinkMs?: number;
  /** a request that takes longer than this is aborted and counted as failed (60 000 ms) */
  requestTimeoutMs?: number;
  /** prefix of written ids (a random one); ids are `<prefix>-<client>-<n>` */
  idPrefix?: string;
  /** 'uuid': written ids are random UUIDs (for a uuid id column); 'text' (default): `<prefix>-<client>-<n>` */
  idKind?: 'text' | 'uuid';
}

export interface AckedWrite {
  id: string;
  /** Date.now()-scale ms (fractional) */
  sentAt: number;
  ackedAt: number;
  /** attempts the service needed (its retries) */
  attempts: number;
}

export interface FailedRequest {
  kind: 'read' | 'write';
  id: string;
  /** HTTP status, or 0 when there was no answer (network error, timeout) */
  status: number;
  error: string;
  sentAt: number;
  at: number;
}

export interface LatencySummary {
  count: number;
  p50: number;
  p95: number;
  p99: number;
  max: number;
}

export interface LoadSummary {
  startedAt: number;
  stoppedAt: number;
  durationMs: number;
  reads: { ok: number; notFound: number; failed: number; latency: LatencySummary };
  writes: { acknowledged: number; failed: number; latency: LatencySummary; maxAttempts: number };
  acknowledged: AckedWrite[];
  /** ids of `acknowledged` */
  acknowledgedIds: string[];
  failures: FailedRequest[];
  notFound: { id: string; sentAt: number; at: number }[];
  /** every answered read (200 or 404): when it was sent and answered */
  readTimes: { sentAt: number; at: number }[];
  /**
   * The longest time without a write acknowledgement: between two consecutive acknowledgements, or from the
   * start to the first, or from the last to the stop (so writes stalled at the end count too).
   */
  longestWritePauseMs: number;
  longestWritePause: { from: number; to: number };
  /** writes sent but not answered when the load stopped (stop() waits for them; nonzero only on timeout) */
  pendingWrites: number;
}

export interface LoadRun {
  /** stop issuing requests, wait for the ones in flight, summarise */
  stop(): Promise<LoadSummary>;
  /** resolves when the load stopped (by duration or stop()) */
  done: Promise<LoadSummary>;
  /** the figures so far, without stopping */
  snapshot(): LoadSummary;
}

/** Wall-clock ms with sub-ms precision (comparable with Date.now() taken around database actions). */
export function nowMs(): number {
  return performance.timeOrigin + performance.now();
}

function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return 0;
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[i]!;
}

export function summariseLatencies(values: readonly number[]): LatencySummary {
  const s = [...values].sort((a, b) => a - b);
  const r = (x: number): number => Math.round(x * 10) / 10;
  return {
    count: s.length,
    p50: r(percentile(s, 50)),
    p95: r(percentile(s, 95)),
    p99: r(percentile(s, 99)),
    max: r(s[s.length - 1] ?? 0),
  };
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Start the load; it runs until `stop()` (or `durationMs`). */
export function startLoad(options: LoadOptions): LoadRun {
  const clients = options.clients ?? 8;
  const readers = options.readers ?? 2;
  const writeRatio = options.writeRatio ?? 0.3;
  const thinkMs = options.thinkMs ?? 2;
  const timeoutMs = options.requestTimeoutMs ?? 60_000;
  const prefix = options.idPrefix ?? randomUUID().slice(0, 8);
  const seedIds = [...(options.readIds ?? [])];

  const startedAt = nowMs();
  let stoppedAt: number | undefined;
  let stopping = false;
  const acked: AckedWrite[] = [];
  const readable: string[] = [...seedIds];
  const failures: FailedRequest[] = [];
  const notFound: { id: string; sentAt: number; at: number }[] = [];
  const readLatencies: number[] = [];
  const readTimes: { sentAt: number; at: number }[] = [];
  const writeLatencies: number[] = [];
  let readsOk = 0;
  let pendingWrites = 0;

  async function request(
    method: 'GET' | 'POST',
    path: string,
    body?: unknown,
  ): Promise<{ status: number; json: unknown }> {
    const res = await fetch(`${options.baseUrl}${path}`, {
      method,
      headers: body === undefined ? {} : { 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
      signal: AbortSignal.timeout(timeoutMs),
    });
    const text = await res.text();
    let json: unknown = text;
    try {
      json = JSON.parse(text);
    } catch {
      // keep the text
    }
    return { status: res.status, json };
  }

  async function write(client: number, n: number): Promise<void> {
    const id = options.idKind === 'uuid' ? randomUUID() : `${prefix}-${client}-${n}`;
    const sentAt = nowMs();
    pendingWrites++;
    try {
      const { status, json } = await request('POST', '/patients', { id, name: `patient ${id}` });
      const at = nowMs();
      if (status === 201) {
        const attempts = (json as { attempts?: number }).attempts ?? 1;
        acked.push({ id, sentAt, ackedAt: at, attempts });
        readable.push(id);
        writeLatencies.push(at - sentAt);
      } else {
        failures.push({ kind: 'write', id, status, error: JSON.stringify(json), sentAt, at });
      }
    } catch (err) {
      failures.push({
        kind: 'write',
        id,
        status: 0,
        error: err instanceof Error ? err.message : String(err),
        sentAt,
        at: nowMs(),
      });
    } finally {
      pendingWrites--;
    }
  }

  async function read(): Promise<void> {
    const id = readable[Math.floor(Math.random() * readable.length)]!;
    const sentAt = nowMs();
    try {
      const { status, json } = await request('GET', `/patients/${encodeURIComponent(id)}`);
      const at = nowMs();
      if (status === 200) {
        readsOk++;
        readLatencies.push(at - sentAt);
        readTimes.push({ sentAt, at });
      } else if (status === 404) {
        notFound.push({ id, sentAt, at });
        readLatencies.push(at - sentAt);
        readTimes.push({ sentAt, at });
      } else {
        failures.push({ kind: 'read', id, status, error: JSON.stringify(json), sentAt, at });
      }
    } catch (err) {
      failures.push({
        kind: 'read',
        id,
        status: 0,
        error: err instanceof Error ? err.message : String(err),
        sentAt,
        at: nowMs(),
      });
    }
  }

  async function client(index: number, ratio: number): Promise<void> {
    let n = 0;
    while (!stopping) {
      if (ratio > 0 && (readable.length === 0 || Math.random() < ratio)) await write(index, n++);
      else if (readable.length === 0) await sleep(5);
      else await read();
      if (thinkMs > 0 && !stopping) await sleep(thinkMs);
    }
  }

  function summary(): LoadSummary {
    const end = stoppedAt ?? nowMs();
    const ackTimes = acked.map((a) => a.ackedAt).sort((a, b) => a - b);
    const points = [startedAt, ...ackTimes, end];
    let longest = 0;
    let from = startedAt;
    let to = startedAt;
    for (let i = 1; i < points.length; i++) {
      const gap = points[i]! - points[i - 1]!;
      if (gap > longest) {
        longest = gap;
        from = points[i - 1]!;
        to = points[i]!;
      }
    }
    return {
      startedAt,
      stoppedAt: end,
      durationMs: Math.round(end - startedAt),
      reads: {
        ok: readsOk,
        notFound: notFound.length,
        failed: failures.filter((f) => f.kind === 'read').length,
        latency: summariseLatencies(readLatencies),
      },
      writes: {
        acknowledged: acked.length,
        failed: failures.filter((f) => f.kind === 'write').length,
        latency: summariseLatencies(writeLatencies),
        maxAttempts: acked.reduce((m, a) => Math.max(m, a.attempts), 0),
      },
      acknowledged: [...acked],
      acknowledgedIds: acked.map((a) => a.id),
      failures: [...failures],
      notFound: [...notFound],
      readTimes: [...readTimes],
      longestWritePauseMs: Math.round(longest),
      longestWritePause: { from, to },
      pendingWrites,
    };
  }

  const workers = [
    ...Array.from({ length: clients }, (_v, i) => client(i, writeRatio)),
    ...Array.from({ length: readers }, (_v, i) => client(clients + i, 0)),
  ];
  let timer: ReturnType<typeof setTimeout> | undefined;
  const done = (async () => {
    await Promise.all(workers);
    stoppedAt = nowMs();
    if (timer) clearTimeout(timer);
    return summary();
  })();
  const stop = (): Promise<LoadSummary> => {
    stopping = true;
    return done;
  };
  if (options.durationMs !== undefined) timer = setTimeout(() => void stop(), options.durationMs);
  return { stop, done, snapshot: summary };
}

/** Run the load for `durationMs` and return its summary. */
export function runLoad(options: LoadOptions & { durationMs: number }): Promise<LoadSummary> {
  return startLoad(options).done;
}
