import { Transform, type TransformCallback } from 'node:stream';

/**
 * The copy's digest without a second read of the source: the batch's COPY selects one more column, each row's
 * hash (computed by the source in the same scan), and this stream takes that last column off every row on its way
 * to the target, counting the rows and summing the hashes. What the target receives is byte for byte what a COPY
 * of the table's columns would have sent.
 *
 * Binary format: a 19-byte signature and flags, a header extension (its length, then that many bytes), then per
 * row an int16 field count and per field an int32 length (-1: NULL) and the bytes; an int16 -1 ends the data.
 * The hash is the row's last field, an int8: 8 bytes, big-endian, signed. Text format: rows end with a newline,
 * fields are separated by tabs (a tab or newline inside a value is escaped as \t or \n), so the hash is what
 * follows the row's last tab.
 *
 * It owns the chunks written to it (pg-copy-streams hands over each buffer it pushes): every row is rewritten in
 * place, toward the front of its chunk, so no row is copied into a new buffer, and a row cut by a chunk boundary
 * is joined with only the part of the next chunk it needs.
 */
/** Big-endian int32 at `i` (the caller knows the 4 bytes are there): plain arithmetic, cheaper than readInt32BE. */
function int32(b: Buffer, i: number): number {
  return ((b[i] as number) << 24) | ((b[i + 1] as number) << 16) | ((b[i + 2] as number) << 8) | (b[i + 3] as number);
}

export class DigestStrip extends Transform {
  rows = 0;
  /** Output bytes (what the target received). */
  bytes = 0;
  private hi = 0; // sums of the hashes' high (signed) and low (unsigned) 32-bit halves, kept exact as numbers
  private lo = 0;
  private big = 0n;
  /** Bytes of an incomplete row, kept as they came: joined only once enough is there (a long value, many chunks). */
  private parts: Buffer[] = [];
  private partsLen = 0;
  /** Bytes needed before the next attempt to read the incomplete row (exact when a length said so). */
  private need = 0;
  /** Bytes copied to join incomplete rows with what followed them (stays linear in the stream's size). */
  joined = 0;
  private headerDone = false;
  private ended = false;

  constructor(private readonly format: 'binary' | 'text') {
    super();
  }

  /** The sum of the hashes (as the server's sum(int8) gives it). */
  get sum(): string {
    return (this.big + BigInt(this.hi) * 4294967296n + BigInt(this.lo)).toString();
  }

  private fold(): void {
    this.big += BigInt(this.hi) * 4294967296n + BigInt(this.lo);
    this.hi = 0;
    this.lo = 0;
  }

  override _transform(chunk: Buffer, _enc: BufferEncoding, cb: TransformCallback): void {
    try {
      let b = chunk;
      if (this.partsLen > 0) {
        const pending = this.partsLen;
        this.parts.push(chunk);
        this.partsLen += chunk.length;
        if (this.partsLen < this.need) return cb();
        // the row cut by the last chunk boundary: joined with only as much of this chunk as it needs (joining the
        // whole chunk would copy every byte of the stream once more)
        const earlier = this.parts.slice(0, -1);
        for (let k = Math.min(chunk.length, Math.max(this.need - pending, 1) + 64); ;) {
          const head = Buffer.concat([...earlier, chunk.subarray(0, k)], pending + k);
          this.joined += head.length;
          const r = this.format === 'binary' ? this.binary(head) : this.text(head);
          if (r.used > pending) {
            // the cut row and the rows after it that the head held whole; the rest of the chunk follows
            this.forward(r.out);
            b = chunk.subarray(r.used - pending);
            break;
          }
          if (k === chunk.length) {
            // the whole chunk did not finish the row: keep it joined, try again when enough has come
            this.parts = [head];
            this.need = this.format === 'binary' ? r.need : 2 * head.length;
            return cb();
          }
          k = Math.min(chunk.length, Math.max(2 * k, r.need - pending));
        }
        this.parts = [];
        this.partsLen = 0;
        this.need = 0;
      }
      const { out, used, need } = this.format === 'binary' ? this.binary(b) : this.text(b);
      const rest = b.length - used;
      // a row still incomplete: try again when its known length is in, or when twice as much is (amortized linear)
      this.parts = rest > 0 ? [Buffer.from(b.subarray(used))] : [];
      this.partsLen = rest;
      this.need = rest === 0 ? 0 : this.format === 'binary' ? need : 2 * rest;
      this.forward(out);
      cb();
    } catch (err) {
      cb(err as Error);
    }
  }

  private forward(out: Buffer): void {
    if (out.length === 0) return;
    this.bytes += out.length;
    this.push(out);
  }

  override _flush(cb: TransformCallback): void {
    if (this.partsLen > 0) {
      // rows held back while waiting for more: read them now
      const b = Buffer.concat(this.parts, this.partsLen);
      const { out, used } = this.format === 'binary' ? this.binary(b) : this.text(b);
      this.partsLen = b.length - used;
      this.forward(out);
    }
    if (this.partsLen > 0 && !this.ended) {
      cb(new Error(`the COPY stream ended inside a row (${this.partsLen} bytes left)`));
      return;
    }
    this.fold();
    cb();
  }

  /** Rewrites `b` in place (every row only moves toward the front): what it returns is a part of `b`. */
  private binary(b: Buffer): { out: Buffer; used: number; need: number } {
    const out = b;
    let o = 0;
    let p = 0;
    if (!this.headerDone) {
      if (b.length < 19) return { out: out.subarray(0, 0), used: 0, need: 19 };
      const header = 19 + b.readUInt32BE(15);
      if (b.length < header) return { out: out.subarray(0, 0), used: 0, need: header };
      o = header;
      p = header;
      this.headerDone = true;
    }
    let need = 0;
    for (;;) {
      if (this.ended || p + 2 > b.length) break;
      const n = ((((b[p] as number) << 8) | (b[p + 1] as number)) << 16) >> 16;
      if (n === -1) {
        out.writeInt16BE(-1, o);
        o += 2;
        p += 2;
        this.ended = true;
        break;
      }
      if (n < 1) throw new Error(`a COPY row with ${n} fields: no digest column`);
      // the row's fields: find its end (all lengths must be in the buffer)
      let q = p + 2;
      let last = -1;
      let complete = true;
      for (let f = 0; f < n; f++) {
        if (q + 4 > b.length) {
          complete = false;
          break;
        }
        const len = int32(b, q);
        if (f === n - 1) last = q;
        q += 4 + (len > 0 ? len : 0);
        if (q > b.length) {
          complete = false;
          break;
        }
      }
      if (!complete) {
        need = q - p + (q > b.length ? 0 : 4); // at least this much of the row (exact when a value is missing)
        break;
      }
      if (int32(b, last) !== 8) throw new Error('the digest column of a COPY row is not an int8');
      this.hi += int32(b, last + 4);
      this.lo += int32(b, last + 8) >>> 0;
      out[o] = (n - 1) >> 8;
      out[o + 1] = (n - 1) & 0xff;
      if (o + 2 !== p + 2) b.copyWithin(o + 2, p + 2, last);
      o += 2 + (last - p - 2);
      p = q;
      if (++this.rows % 1_000_000 === 0) this.fold(); // the halves' sums stay below 2^53
    }
    return { out: out.subarray(0, o), used: p, need };
  }

  /** Rewrites `b` in place, as binary() does. */
  private text(b: Buffer): { out: Buffer; used: number; need: number } {
    const out = b;
    let o = 0;
    let p = 0;
    for (;;) {
      const nl = b.indexOf(0x0a, p);
      if (nl < 0) break;
      // the end-of-data marker `\.` (only in COPY from a file; never sent by COPY TO STDOUT) is not expected here
      const tab = b.lastIndexOf(0x09, nl);
      if (tab < p) throw new Error('a COPY row without its digest column');
      this.big += BigInt(b.toString('latin1', tab + 1, nl));
      if (o !== p) b.copyWithin(o, p, tab);
      o += tab - p;
      out[o++] = 0x0a;
      p = nl + 1;
      this.rows++;
    }
    return { out: out.subarray(0, o), used: p, need: 0 };
  }
}
