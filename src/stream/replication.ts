/**
 * A logical replication session on the source (START_REPLICATION ... LOGICAL with pgoutput), on pg-copy-streams'
 * copy-both stream with pgshift's own framing of the replication messages.
 *
 * Why copy-both and not pg-logical-replication: the latter emits every message as an event as soon as the socket
 * delivers it, so a target slower than the source makes it buffer the stream without bound in JS. copy-both is a
 * Duplex: in object mode, one CopyData frame per object, its readable buffer holds at most `highWaterMark` frames
 * (plus those of one socket read), and when it is full it stops reading the socket, so TCP pushes back on the
 * walsender. And the flush LSN is ours alone: a standby status update carries exactly the LSN committed on the
 * target (`confirm`), sent every few seconds, when the server asks, and on close.
 */
import pg from 'pg';
import copyStreams from 'pg-copy-streams';
import type { Duplex } from 'node:stream';
import { clientConfig, type SessionSettings } from '../db/connect.js';
import { connectError } from '../db/connect-error.js';
import type { ResolvedEndpoint } from '../db/endpoint.js';
import { quoteIdent, quoteLiteral } from '../db/ident.js';
import { PgshiftError } from '../errors/index.js';
import { logger } from '../log/logger.js';
import { formatLsn, pgMicros } from './pgoutput.js';

export type ReplicationFrame =
  | { readonly kind: 'xlog'; readonly start: bigint; readonly walEnd: bigint; readonly data: Buffer }
  | { readonly kind: 'keepalive'; readonly walEnd: bigint; readonly replyRequested: boolean };

export interface ReplicationOptions {
  readonly source: ResolvedEndpoint;
  readonly settings: SessionSettings;
  readonly slot: string;
  readonly publications: readonly string[];
  /** where to start (the applied LSN; 0: the slot's confirmed position) */
  readonly startLsn: bigint;
  /** frames buffered before the socket is no longer read (default 256) */
  readonly highWaterMark?: number;
  /** standby status update period (default 5 s) */
  readonly statusIntervalMs?: number;
}

type CopyBoth = Duplex & pg.Submittable & { cb_flush?: () => void };
const copyBoth = (copyStreams as unknown as { both(text: string, opts: object): CopyBoth }).both;

/** A frame of the copy stream: XLogData ('w') or primary keepalive ('k'). */
export function parseFrame(b: Buffer): ReplicationFrame {
  const kind = String.fromCharCode(b.readUInt8(0));
  if (kind === 'w')
    return { kind: 'xlog', start: b.readBigUInt64BE(1), walEnd: b.readBigUInt64BE(9), data: b.subarray(25) };
  if (kind === 'k') return { kind: 'keepalive', walEnd: b.readBigUInt64BE(1), replyRequested: b.readUInt8(17) === 1 };
  throw new PgshiftError('STREAM_PROTOCOL', `the replication stream sent a frame of kind '${kind}'`);
}

/** A standby status update: write = flush = apply = `lsn`. */
export function statusUpdate(lsn: bigint, replyRequested: boolean, now = new Date()): Buffer {
  const b = Buffer.alloc(34);
  b.write('r', 0, 'latin1');
  b.writeBigUInt64BE(lsn, 1);
  b.writeBigUInt64BE(lsn, 9);
  b.writeBigUInt64BE(lsn, 17);
  b.writeBigInt64BE(pgMicros(now), 25);
  b.writeUInt8(replyRequested ? 1 : 0, 33);
  return b;
}

export function startReplicationSql(slot: string, publications: readonly string[], lsn: bigint): string {
  const pubs = quoteLiteral(publications.map(quoteIdent).join(','));
  return `START_REPLICATION SLOT ${quoteIdent(slot)} LOGICAL ${formatLsn(lsn)} (proto_version '1', publication_names ${pubs}, messages 'true')`;
}

export class ReplicationSession {
  private confirmed: bigint;
  private error: unknown = null;
  private ended = false;
  private wake: (() => void) | null = null;
  private readonly timer: NodeJS.Timeout;
  /** the most frames the readable side held at once (backpressure shows here) */
  maxBuffered = 0;

  private constructor(
    private readonly client: pg.Client,
    private readonly stream: CopyBoth,
    startLsn: bigint,
    statusIntervalMs: number,
  ) {
    this.confirmed = startLsn;
    const wake = (): void => {
      const w = this.wake;
      this.wake = null;
      w?.();
    };
    stream.on('readable', wake);
    stream.on('error', (err) => {
      this.error ??= err;
      wake();
    });
    stream.on('end', () => {
      this.ended = true;
      wake();
    });
    this.timer = setInterval(() => this.sendStatus(false), statusIntervalMs);
    this.timer.unref();
  }

  static async start(o: ReplicationOptions): Promise<ReplicationSession> {
    const deadline = Date.now() + 30_000;
    for (;;) {
      const client = new pg.Client({
        ...clientConfig(o.source, o.settings),
        replication: 'database',
      } as pg.ClientConfig);
      client.on('error', (err) => logger().warn({ side: 'source', err: err.message }, 'replication connection error'));
      try {
        await client.connect();
      } catch (err) {
        await client.end().catch(() => undefined);
        throw connectError(err, o.source, 1);
      }
      const stream = copyBoth(startReplicationSql(o.slot, o.publications, o.startLsn), {
        alignOnCopyDataFrame: true,
        readableObjectMode: true,
        readableHighWaterMark: o.highWaterMark ?? 256,
      });
      stream.cb_flush = () => undefined; // copy-both calls it on ReadyForQuery, also after an error
      stream.on('error', () => undefined); // reported by `opened` below, then by next()
      client.query(stream);
      stream.read(0); // the readable side parses CopyBothResponse too: it must be asked to read
      // the first status update is written once the server answered CopyBothResponse: the stream is open
      const opened = await new Promise<unknown>((resolve) => {
        stream.once('error', resolve);
        stream.write(statusUpdate(o.startLsn, false), () => resolve(null));
      });
      if (opened === null) return new ReplicationSession(client, stream, o.startLsn, o.statusIntervalMs ?? 5000);
      await client.end().catch(() => undefined);
      // the slot is still held by a walsender of a session that just died (a killed applier): wait for it to go
      if ((opened as { code?: string }).code === '55006' && Date.now() < deadline) {
        await new Promise((r) => setTimeout(r, 250));
        continue;
      }
      throw new PgshiftError(
        'STREAM_CONNECTION_LOST',
        `starting replication from slot ${o.slot} on the source failed: ${(opened as Error).message}`,
        {
          hint: 'Check that the slot and the publication exist (`pgshift plan` shows them) and that the role may replicate.',
        },
      );
    }
  }

  /** Frames waiting in the readable buffer. */
  buffered(): number {
    return this.stream.readableLength;
  }

  /** The next frame, or null after `timeoutMs` without one. */
  async next(timeoutMs: number): Promise<ReplicationFrame | null> {
    const until = Date.now() + timeoutMs;
    for (;;) {
      if (this.error) throw this.lost(this.error);
      this.maxBuffered = Math.max(this.maxBuffered, this.stream.readableLength);
      const chunk = this.stream.read() as Buffer | null;
      if (chunk !== null) return parseFrame(chunk);
      if (this.ended) throw this.lost(null);
      const left = until - Date.now();
      if (left <= 0) return null;
      await new Promise<void>((resolve) => {
        const t = setTimeout(() => {
          this.wake = null;
          resolve();
        }, left);
        this.wake = () => {
          clearTimeout(t);
          resolve();
        };
      });
    }
  }

  private lost(err: unknown): PgshiftError {
    const e = err as { message?: string; code?: string } | null;
    return new PgshiftError(
      'STREAM_CONNECTION_LOST',
      `the replication connection to the source ended${e ? `: ${e.code ? `${e.code} ` : ''}${e.message ?? ''}` : ''}`,
      { hint: 'Run again: the stream resumes from the last position committed on the target.' },
    );
  }

  /** Reports `lsn` as written, flushed and applied (call it only after the target committed it). */
  confirm(lsn: bigint): void {
    if (lsn > this.confirmed) this.confirmed = lsn;
    this.sendStatus(false);
  }

  get confirmedLsn(): bigint {
    return this.confirmed;
  }

  /** A standby status update with the confirmed LSN; `replyRequested` asks the server for a keepalive at once. */
  sendStatus(replyRequested: boolean): void {
    if (this.ended || this.error || this.stream.writableEnded) return;
    this.stream.write(statusUpdate(this.confirmed, replyRequested));
  }

  /** Sends the last status update, ends the copy (the server has processed the update when it answers), closes. */
  async close(): Promise<void> {
    clearInterval(this.timer);
    if (!this.ended && !this.error && !this.stream.writableEnded) {
      this.sendStatus(false);
      const done = new Promise<void>((resolve) => {
        const t = setTimeout(resolve, 5000);
        this.stream.once('finish', () => {
          clearTimeout(t);
          resolve();
        });
        this.stream.once('error', () => {
          clearTimeout(t);
          resolve();
        });
      });
      this.stream.removeAllListeners('readable');
      this.stream.on('data', () => undefined); // drain what is still buffered so the server's CopyDone is read
      this.stream.end();
      await done;
    }
    await this.client.end().catch(() => undefined);
  }
}
