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
 */
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
      if (this.partsLen > 0) {
        this.parts.push(chunk);
        this.partsLen += chunk.length;
        if (this.partsLen < this.need) return cb();
      }
      if (this.partsLen > 0) this.joined += this.partsLen;
      const b = this.partsLen > 0 ? Buffer.concat(this.parts, this.partsLen) : chunk;
      const { out, used, need } = this.format === 'binary' ? this.binary(b) : this.text(b);
      const rest = b.length - used;
      // a row still incomplete: try again when its known length is in, or when twice as much is (amortized linear)
      this.parts = rest > 0 ? [Buffer.from(b.subarray(used))] : [];
      this.partsLen = rest;
      this.need = rest === 0 ? 0 : this.format === 'binary' ? need : 2 * rest;
      if (out.length > 0) {
        this.bytes += out.length;
        this.push(out);
      }
      cb();
    } catch (err) {
      cb(err as Error);
    }
  }

  override _flush(cb: TransformCallback): void {
    if (this.partsLen > 0) {
      // rows held back while waiting for more: read them now
      const b = Buffer.concat(this.parts, this.partsLen);
      const { out, used } = this.format === 'binary' ? this.binary(b) : this.text(b);
      this.partsLen = b.length - used;
      if (out.length > 0) {
        this.bytes += out.length;
        this.push(out);
      }
    }
    if (this.partsLen > 0 && !this.ended) {
      cb(new Error(`the COPY stream ended inside a row (${this.partsLen} bytes left)`));
      return;
    }
    this.fold();
    cb();
  }

  private binary(b: Buffer): { out: Buffer; used: number; need: number } {
    const out = Buffer.allocUnsafe(b.length);
    let o = 0;
    let p = 0;
    if (!this.headerDone) {
      if (b.length < 19) return { out: out.subarray(0, 0), used: 0, need: 19 };
      const header = 19 + b.readUInt32BE(15);
      if (b.length < header) return { out: out.subarray(0, 0), used: 0, need: header };
      b.copy(out, 0, 0, header);
      o = header;
      p = header;
      this.headerDone = true;
    }
    let need = 0;
    for (;;) {
      if (this.ended || p + 2 > b.length) break;
      const n = b.readInt16BE(p);
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
        const len = b.readInt32BE(q);
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
      if (b.readInt32BE(last) !== 8) throw new Error('the digest column of a COPY row is not an int8');
      this.hi += b.readInt32BE(last + 4);
      this.lo += b.readUInt32BE(last + 8);
      out.writeInt16BE(n - 1, o);
      o += 2;
      o += b.copy(out, o, p + 2, last);
      p = q;
      if (++this.rows % 1_000_000 === 0) this.fold(); // the halves' sums stay below 2^53
    }
    return { out: out.subarray(0, o), used: p, need };
  }

  private text(b: Buffer): { out: Buffer; used: number; need: number } {
    const out = Buffer.allocUnsafe(b.length);
    let o = 0;
    let p = 0;
    for (;;) {
      const nl = b.indexOf(0x0a, p);
      if (nl < 0) break;
      // the end-of-data marker `\.` (only in COPY from a file; never sent by COPY TO STDOUT) is not expected here
      const tab = b.lastIndexOf(0x09, nl);
      if (tab < p) throw new Error('a COPY row without its digest column');
      this.big += BigInt(b.toString('latin1', tab + 1, nl));
      o += b.copy(out, o, p, tab);
      out[o++] = 0x0a;
      p = nl + 1;
      this.rows++;
    }
    return { out: out.subarray(0, o), used: p, need: 0 };
  }
}
