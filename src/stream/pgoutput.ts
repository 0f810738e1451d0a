/**
 * The pgoutput logical decoding messages (protocol version 1, values in text form), decoded from the bytes of one
 * XLogData payload. Pure functions over Buffers. LSNs are bigints here (text `X/Y` only at the edges).
 */
import { PgshiftError } from '../errors/index.js';

/** One column value of a tuple: null, an unchanged TOASTed value (not sent), or its text form. */
export type TupleValue =
  { readonly kind: 'null' } | { readonly kind: 'unchanged' } | { readonly kind: 'text'; readonly text: string };

export interface RelationColumn {
  /** 1: part of the replica identity */
  readonly flags: number;
  readonly name: string;
  readonly typeOid: number;
  readonly typmod: number;
}

export type PgoutputMessage =
  | { readonly tag: 'begin'; readonly finalLsn: bigint; readonly commitTime: Date; readonly xid: number }
  | {
      readonly tag: 'commit';
      readonly flags: number;
      readonly commitLsn: bigint;
      readonly endLsn: bigint;
      readonly commitTime: Date;
    }
  | { readonly tag: 'origin'; readonly lsn: bigint; readonly name: string }
  | {
      readonly tag: 'relation';
      readonly id: number;
      readonly schema: string;
      readonly name: string;
      /** d(efault), n(othing), f(ull), i(ndex) */
      readonly replicaIdentity: string;
      readonly columns: readonly RelationColumn[];
    }
  | { readonly tag: 'type'; readonly oid: number; readonly schema: string; readonly name: string }
  | { readonly tag: 'insert'; readonly relationId: number; readonly newTuple: readonly TupleValue[] }
  | {
      readonly tag: 'update';
      readonly relationId: number;
      /** K: the old replica identity (key changed), O: the whole old row (REPLICA IDENTITY FULL), null: neither */
      readonly oldKind: 'K' | 'O' | null;
      readonly oldTuple: readonly TupleValue[] | null;
      readonly newTuple: readonly TupleValue[];
    }
  | {
      readonly tag: 'delete';
      readonly relationId: number;
      readonly oldKind: 'K' | 'O';
      readonly oldTuple: readonly TupleValue[];
    }
  | {
      readonly tag: 'truncate';
      readonly cascade: boolean;
      readonly restartIdentity: boolean;
      readonly relationIds: readonly number[];
    }
  | {
      readonly tag: 'message';
      readonly transactional: boolean;
      readonly lsn: bigint;
      readonly prefix: string;
      readonly content: Buffer;
    };

const PG_EPOCH_MS = 946_684_800_000n; // 2000-01-01T00:00:00Z

/** A server timestamp (microseconds since 2000-01-01) as a Date (millisecond precision). */
export function pgTimestamp(us: bigint): Date {
  return new Date(Number(us / 1000n + PG_EPOCH_MS));
}

export function pgMicros(d: Date): bigint {
  return (BigInt(d.getTime()) - PG_EPOCH_MS) * 1000n;
}

/** `16/B374D848` -> bigint. */
export function parseLsn(text: string): bigint {
  const m = /^([0-9A-Fa-f]{1,8})\/([0-9A-Fa-f]{1,8})$/.exec(text);
  if (!m) throw new TypeError(`not an LSN: ${text}`);
  return (BigInt(`0x${m[1]}`) << 32n) | BigInt(`0x${m[2]}`);
}

/** bigint -> `16/B374D848`, as the server prints pg_lsn. */
export function formatLsn(lsn: bigint): string {
  return `${(lsn >> 32n).toString(16).toUpperCase()}/${(lsn & 0xffffffffn).toString(16).toUpperCase()}`;
}

/** A cursor over one message. */
class Reader {
  private pos = 0;
  constructor(private readonly buf: Buffer) {}
  private need(n: number): void {
    if (this.pos + n > this.buf.length)
      throw protocolError(`a message ends after ${this.buf.length} bytes, ${this.pos + n} needed`);
  }
  u8(): number {
    this.need(1);
    return this.buf.readUInt8(this.pos++);
  }
  i16(): number {
    this.need(2);
    const v = this.buf.readInt16BE(this.pos);
    this.pos += 2;
    return v;
  }
  i32(): number {
    this.need(4);
    const v = this.buf.readInt32BE(this.pos);
    this.pos += 4;
    return v;
  }
  u32(): number {
    this.need(4);
    const v = this.buf.readUInt32BE(this.pos);
    this.pos += 4;
    return v;
  }
  u64(): bigint {
    this.need(8);
    const v = this.buf.readBigUInt64BE(this.pos);
    this.pos += 8;
    return v;
  }
  i64(): bigint {
    this.need(8);
    const v = this.buf.readBigInt64BE(this.pos);
    this.pos += 8;
    return v;
  }
  /** A NUL-terminated string. */
  cstring(): string {
    const end = this.buf.indexOf(0, this.pos);
    if (end < 0) throw protocolError('a string without its terminating NUL');
    const s = this.buf.toString('utf8', this.pos, end);
    this.pos = end + 1;
    return s;
  }
  bytes(n: number): Buffer {
    this.need(n);
    const b = this.buf.subarray(this.pos, this.pos + n);
    this.pos += n;
    return b;
  }
}

export function protocolError(what: string): PgshiftError {
  return new PgshiftError('STREAM_PROTOCOL', `the replication stream sent a message pgshift cannot read: ${what}`, {
    hint: 'This is a bug or an unsupported server; the stream stopped before applying it (nothing is confirmed past it).',
  });
}

function tuple(r: Reader): TupleValue[] {
  const n = r.i16();
  const out: TupleValue[] = [];
  for (let i = 0; i < n; i++) {
    const kind = String.fromCharCode(r.u8());
    if (kind === 'n') out.push({ kind: 'null' });
    else if (kind === 'u') out.push({ kind: 'unchanged' });
    else if (kind === 't') out.push({ kind: 'text', text: r.bytes(r.u32()).toString('utf8') });
    else throw protocolError(`column kind '${kind}' (binary values are not asked for)`);
  }
  return out;
}

/** Decodes one pgoutput message. */
export function decodePgoutput(buf: Buffer): PgoutputMessage {
  const r = new Reader(buf);
  const tag = String.fromCharCode(r.u8());
  switch (tag) {
    case 'B':
      return { tag: 'begin', finalLsn: r.u64(), commitTime: pgTimestamp(r.i64()), xid: r.u32() };
    case 'C':
      return { tag: 'commit', flags: r.u8(), commitLsn: r.u64(), endLsn: r.u64(), commitTime: pgTimestamp(r.i64()) };
    case 'O':
      return { tag: 'origin', lsn: r.u64(), name: r.cstring() };
    case 'R': {
      const id = r.u32();
      const schema = r.cstring();
      const name = r.cstring();
      const replicaIdentity = String.fromCharCode(r.u8());
      const n = r.i16();
      const columns: RelationColumn[] = [];
      for (let i = 0; i < n; i++) columns.push({ flags: r.u8(), name: r.cstring(), typeOid: r.u32(), typmod: r.i32() });
      return { tag: 'relation', id, schema, name, replicaIdentity, columns };
    }
    case 'Y':
      return { tag: 'type', oid: r.u32(), schema: r.cstring(), name: r.cstring() };
    case 'I': {
      const relationId = r.u32();
      const n = String.fromCharCode(r.u8());
      if (n !== 'N') throw protocolError(`insert with tuple kind '${n}'`);
      return { tag: 'insert', relationId, newTuple: tuple(r) };
    }
    case 'U': {
      const relationId = r.u32();
      let kind = String.fromCharCode(r.u8());
      let oldKind: 'K' | 'O' | null = null;
      let oldTuple: TupleValue[] | null = null;
      if (kind === 'K' || kind === 'O') {
        oldKind = kind;
        oldTuple = tuple(r);
        kind = String.fromCharCode(r.u8());
      }
      if (kind !== 'N') throw protocolError(`update with tuple kind '${kind}'`);
      return { tag: 'update', relationId, oldKind, oldTuple, newTuple: tuple(r) };
    }
    case 'D': {
      const relationId = r.u32();
      const kind = String.fromCharCode(r.u8());
      if (kind !== 'K' && kind !== 'O') throw protocolError(`delete with tuple kind '${kind}'`);
      return { tag: 'delete', relationId, oldKind: kind, oldTuple: tuple(r) };
    }
    case 'T': {
      const n = r.u32();
      const options = r.u8();
      const relationIds: number[] = [];
      for (let i = 0; i < n; i++) relationIds.push(r.u32());
      return { tag: 'truncate', cascade: (options & 1) !== 0, restartIdentity: (options & 2) !== 0, relationIds };
    }
    case 'M': {
      const flags = r.u8();
      const lsn = r.u64();
      const prefix = r.cstring();
      const content = Buffer.from(r.bytes(r.u32()));
      return { tag: 'message', transactional: (flags & 1) !== 0, lsn, prefix, content };
    }
    default:
      throw protocolError(`message type '${tag}' (protocol version 1 only)`);
  }
}
