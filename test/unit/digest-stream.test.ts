/**
 * DigestStrip takes the hash column off every row of a COPY stream, whatever the chunk boundaries, and sums the
 * hashes exactly (64-bit values, negative ones, more rows than a double's halves could add up without folding).
 */
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { DigestStrip } from '../../src/copy/digest-stream.js';

const SIGNATURE = Buffer.from('PGCOPY\n\xff\r\n\0', 'latin1');

function header(extension = Buffer.alloc(0)): Buffer {
  const b = Buffer.alloc(19);
  SIGNATURE.copy(b, 0);
  b.writeUInt32BE(0, 11);
  b.writeUInt32BE(extension.length, 15);
  return Buffer.concat([b, extension]);
}

function field(v: Buffer | null): Buffer {
  const len = Buffer.alloc(4);
  len.writeInt32BE(v === null ? -1 : v.length);
  return v === null ? len : Buffer.concat([len, v]);
}

function row(fields: (Buffer | null)[]): Buffer {
  const n = Buffer.alloc(2);
  n.writeInt16BE(fields.length);
  return Buffer.concat([n, ...fields.map(field)]);
}

function int8(v: bigint): Buffer {
  const b = Buffer.alloc(8);
  b.writeBigInt64BE(v);
  return b;
}

const TRAILER = Buffer.from([0xff, 0xff]);

/** Feeds `data` in chunks cut at `cuts` (copies: the stream rewrites what it is given), collects the output. */
async function run(format: 'binary' | 'text', data: Buffer, cuts: number[]): Promise<{ out: Buffer; s: DigestStrip }> {
  const chunks: Buffer[] = [];
  let at = 0;
  for (const c of [...cuts, data.length]) {
    if (c > at) chunks.push(Buffer.from(data.subarray(at, c)));
    at = Math.max(at, c);
  }
  const s = new DigestStrip(format);
  const got: Buffer[] = [];
  await pipeline(
    Readable.from(chunks),
    s,
    new Writable({
      write(c: Buffer, _e, cb): void {
        got.push(c);
        cb();
      },
    }),
  );
  return { out: Buffer.concat(got), s };
}

describe('DigestStrip', () => {
  const hashes = [5n, -1n, 9223372036854775807n, -9223372036854775808n, 123456789012345678n, 0n];
  const rows = hashes.map((h, i) => ({
    cols: [Buffer.from(`value ${i}\t\n`), i % 2 ? null : Buffer.alloc(i * 37, i), Buffer.alloc(0)],
    h,
  }));
  const ext = Buffer.from('ext!');
  const input = Buffer.concat([header(ext), ...rows.map((r) => row([...r.cols, int8(r.h)])), TRAILER]);
  const expected = Buffer.concat([header(ext), ...rows.map((r) => row(r.cols)), TRAILER]);
  const total = hashes.reduce((a, b) => a + b, 0n).toString();

  it('binary: strips the last field and sums the hashes, at every chunk boundary', async () => {
    for (let cut = 0; cut <= input.length; cut++) {
      const { out, s } = await run('binary', input, [cut, cut + 3]);
      expect(out.equals(expected), `cut at ${cut}`).toBe(true);
      expect(s.rows).toBe(rows.length);
      expect(s.sum).toBe(total);
      expect(s.bytes).toBe(expected.length);
    }
  });

  it('binary: sums exactly over more rows than the halves could hold unfolded', async () => {
    const n = 2_100_000;
    const one = row([Buffer.from([1]), int8(-9223372036854775807n)]);
    const big = Buffer.concat([header(), Buffer.concat(Array.from({ length: n }, () => one)), TRAILER]);
    const { s } = await run('binary', big, [65536, 1 << 20, 5 << 20]);
    expect(s.rows).toBe(n);
    expect(s.sum).toBe((-9223372036854775807n * BigInt(n)).toString());
  });

  it('binary: a value over many chunks is joined once it is all there (no quadratic re-joining)', async () => {
    const value = Buffer.alloc(32 << 20, 7);
    const data = Buffer.concat([header(), row([value, int8(42n)]), TRAILER]);
    const cuts = Array.from({ length: Math.ceil(data.length / 65536) }, (_x, i) => i * 65536);
    const { out, s } = await run('binary', data, cuts);
    expect(s.rows).toBe(1);
    expect(s.sum).toBe('42');
    expect(out.equals(Buffer.concat([header(), row([value]), TRAILER]))).toBe(true);
    // joining the 512 chunks of a 32 MiB value at each chunk would copy about 8 GiB
    expect(s.joined).toBeLessThan(2 * data.length);
  });

  it('binary: a row cut by a chunk boundary is joined with only what it needs of the next chunk', async () => {
    const one = row([Buffer.alloc(37, 1), null, int8(3n)]);
    const n = 200_000;
    const data = Buffer.concat([header(), Buffer.concat(Array.from({ length: n }, () => one)), TRAILER]);
    const cuts = Array.from({ length: Math.ceil(data.length / 65536) }, (_x, i) => i * 65536 + 1);
    const { out, s } = await run('binary', data, cuts);
    expect(s.rows).toBe(n);
    expect(s.sum).toBe((3n * BigInt(n)).toString());
    const stripped = row([Buffer.alloc(37, 1), null]);
    expect(
      out.equals(Buffer.concat([header(), Buffer.concat(Array.from({ length: n }, () => stripped)), TRAILER])),
    ).toBe(true);
    // about a row and a little more per boundary, not the whole next chunk (which would be the stream's size again)
    expect(s.joined).toBeLessThan(cuts.length * 4 * one.length);
  });

  it('text: a row cut by a chunk boundary is joined with only what it needs of the next chunk', async () => {
    const n = 200_000;
    const data = Buffer.from('abc\tdef\t12345\t-77\n'.repeat(n));
    const cuts = Array.from({ length: Math.ceil(data.length / 65536) }, (_x, i) => i * 65536 + 5);
    const { out, s } = await run('text', data, cuts);
    expect(s.rows).toBe(n);
    expect(s.sum).toBe((-77n * BigInt(n)).toString());
    expect(out.toString()).toBe('abc\tdef\t12345\n'.repeat(n));
    expect(s.joined).toBeLessThan(cuts.length * 200);
  });

  it('binary: refuses a stream that ends inside a row', async () => {
    await expect(run('binary', input.subarray(0, input.length - 5), [])).rejects.toThrow(/ended inside a row/);
  });

  it('text: strips what follows the last tab of each row and sums it', async () => {
    const lines = ['a\\tb\t1\t-5', '\\N\t2\t9223372036854775807', 'x\t-9223372036854775808'];
    const data = Buffer.from(lines.map((l) => `${l}\n`).join(''));
    const want = Buffer.from(['a\\tb\t1', '\\N\t2', 'x'].map((l) => `${l}\n`).join(''));
    for (let cut = 0; cut <= data.length; cut++) {
      const { out, s } = await run('text', data, [cut]);
      expect(out.toString(), `cut at ${cut}`).toBe(want.toString());
      expect(s.rows).toBe(3);
      expect(s.sum).toBe((-5n + 9223372036854775807n - 9223372036854775808n).toString());
    }
  });
});
