/**
 * The pgoutput decoder over hand-built messages (protocol version 1, text values), the replication frames and the
 * standby status update, and LSN text.
 */
import { describe, expect, it } from 'vitest';
import { decodePgoutput, formatLsn, parseLsn, pgMicros, pgTimestamp } from '../../src/stream/pgoutput.js';
import { parseFrame, startReplicationSql, statusUpdate } from '../../src/stream/replication.js';

/** A tiny message builder. */
class B {
  private parts: Buffer[] = [];
  ch(c: string): this {
    this.parts.push(Buffer.from(c, 'latin1'));
    return this;
  }
  u8(n: number): this {
    this.parts.push(Buffer.from([n]));
    return this;
  }
  i16(n: number): this {
    const b = Buffer.alloc(2);
    b.writeInt16BE(n);
    this.parts.push(b);
    return this;
  }
  i32(n: number): this {
    const b = Buffer.alloc(4);
    b.writeInt32BE(n);
    this.parts.push(b);
    return this;
  }
  u32(n: number): this {
    const b = Buffer.alloc(4);
    b.writeUInt32BE(n);
    this.parts.push(b);
    return this;
  }
  u64(n: bigint): this {
    const b = Buffer.alloc(8);
    b.writeBigUInt64BE(n);
    this.parts.push(b);
    return this;
  }
  str(s: string): this {
    this.parts.push(Buffer.from(s, 'utf8'), Buffer.from([0]));
    return this;
  }
  text(s: string): this {
    const v = Buffer.from(s, 'utf8');
    return this.ch('t').u32(v.length).raw(v);
  }
  raw(b: Buffer): this {
    this.parts.push(b);
    return this;
  }
  done(): Buffer {
    return Buffer.concat(this.parts);
  }
}

const AT = new Date('2024-05-06T07:08:09.123Z');

describe('LSN and time', () => {
  it('round-trips LSN text and server timestamps', () => {
    expect(parseLsn('16/B374D848')).toBe(0x16b374d848n);
    expect(formatLsn(0x16b374d848n)).toBe('16/B374D848');
    expect(formatLsn(0n)).toBe('0/0');
    expect(formatLsn(parseLsn('FFFFFFFF/FFFFFFFF'))).toBe('FFFFFFFF/FFFFFFFF');
    expect(() => parseLsn('16-B3')).toThrow();
    expect(pgTimestamp(pgMicros(AT)).toISOString()).toBe(AT.toISOString());
    expect(pgTimestamp(0n).toISOString()).toBe('2000-01-01T00:00:00.000Z');
  });
});

describe('decodePgoutput', () => {
  it('decodes Begin, Commit and Origin', () => {
    expect(decodePgoutput(new B().ch('B').u64(0x1_0000_0010n).u64(pgMicros(AT)).u32(0xfffffffe).done())).toEqual({
      tag: 'begin',
      finalLsn: 0x1_0000_0010n,
      commitTime: AT,
      xid: 0xfffffffe,
    });
    expect(decodePgoutput(new B().ch('C').u8(0).u64(10n).u64(20n).u64(pgMicros(AT)).done())).toEqual({
      tag: 'commit',
      flags: 0,
      commitLsn: 10n,
      endLsn: 20n,
      commitTime: AT,
    });
    expect(decodePgoutput(new B().ch('O').u64(5n).str('node "a"').done())).toEqual({
      tag: 'origin',
      lsn: 5n,
      name: 'node "a"',
    });
  });

  it('decodes Relation (hostile names, flags, typmod -1) and Type', () => {
    const m = new B()
      .ch('R')
      .u32(16385)
      .str('Kéyed "Clinic"')
      .str('Pa tients ✓')
      .ch('f')
      .i16(2)
      .u8(1)
      .str('id')
      .u32(23)
      .i32(-1)
      .u8(0)
      .str('Full "Name"')
      .u32(1043)
      .i32(54)
      .done();
    expect(decodePgoutput(m)).toEqual({
      tag: 'relation',
      id: 16385,
      schema: 'Kéyed "Clinic"',
      name: 'Pa tients ✓',
      replicaIdentity: 'f',
      columns: [
        { flags: 1, name: 'id', typeOid: 23, typmod: -1 },
        { flags: 0, name: 'Full "Name"', typeOid: 1043, typmod: 54 },
      ],
    });
    expect(decodePgoutput(new B().ch('Y').u32(70000).str('s').str('mood').done())).toEqual({
      tag: 'type',
      oid: 70000,
      schema: 's',
      name: 'mood',
    });
  });

  it('decodes Insert, Update (none, K and O old tuples) and Delete with null, unchanged and text values', () => {
    const tuple = (b: B): B => b.i16(3).ch('n').ch('u').text('héllo\n\t"x"');
    const values = [{ kind: 'null' }, { kind: 'unchanged' }, { kind: 'text', text: 'héllo\n\t"x"' }];
    expect(decodePgoutput(tuple(new B().ch('I').u32(7).ch('N')).done())).toEqual({
      tag: 'insert',
      relationId: 7,
      newTuple: values,
    });
    expect(decodePgoutput(tuple(new B().ch('U').u32(7).ch('N')).done())).toEqual({
      tag: 'update',
      relationId: 7,
      oldKind: null,
      oldTuple: null,
      newTuple: values,
    });
    const k = new B().ch('U').u32(7).ch('K').i16(1).text('1').ch('N').i16(1).text('2').done();
    expect(decodePgoutput(k)).toMatchObject({
      oldKind: 'K',
      oldTuple: [{ kind: 'text', text: '1' }],
      newTuple: [{ kind: 'text', text: '2' }],
    });
    const o = new B().ch('U').u32(7).ch('O').i16(1).text('').ch('N').i16(1).ch('n').done();
    expect(decodePgoutput(o)).toMatchObject({ oldKind: 'O', oldTuple: [{ kind: 'text', text: '' }] });
    expect(decodePgoutput(new B().ch('D').u32(7).ch('O').i16(1).text('a').done())).toEqual({
      tag: 'delete',
      relationId: 7,
      oldKind: 'O',
      oldTuple: [{ kind: 'text', text: 'a' }],
    });
  });

  it('decodes Truncate options and Message', () => {
    expect(decodePgoutput(new B().ch('T').u32(2).u8(3).u32(10).u32(11).done())).toEqual({
      tag: 'truncate',
      cascade: true,
      restartIdentity: true,
      relationIds: [10, 11],
    });
    expect(decodePgoutput(new B().ch('T').u32(1).u8(0).u32(10).done())).toMatchObject({
      cascade: false,
      restartIdentity: false,
    });
    const content = Buffer.from('cutover 42');
    const m = decodePgoutput(new B().ch('M').u8(1).u64(99n).str('pgshift').u32(content.length).raw(content).done());
    expect(m).toEqual({ tag: 'message', transactional: true, lsn: 99n, prefix: 'pgshift', content });
  });

  it('refuses truncated messages, binary values and unknown message types without echoing bytes', () => {
    expect(() => decodePgoutput(new B().ch('B').u64(1n).done())).toThrow(/ends after 9 bytes/);
    expect(() => decodePgoutput(new B().ch('I').u32(1).ch('N').i16(1).ch('b').done())).toThrow(/binary/);
    expect(() => decodePgoutput(new B().ch('S').done())).toThrow(/message type 'S'/);
    expect(() =>
      decodePgoutput(new B().ch('I').u32(1).ch('N').i16(1).ch('t').u32(50).raw(Buffer.from('secret')).done()),
    ).toThrow(expect.objectContaining({ code: 'STREAM_PROTOCOL', message: expect.not.stringContaining('secret') }));
  });
});

describe('replication frames', () => {
  it('parses XLogData and keepalive frames and writes status updates', () => {
    const w = new B().ch('w').u64(100n).u64(200n).u64(0n).raw(Buffer.from('Bxyz')).done();
    expect(parseFrame(w)).toEqual({ kind: 'xlog', start: 100n, walEnd: 200n, data: Buffer.from('Bxyz') });
    expect(parseFrame(new B().ch('k').u64(300n).u64(0n).u8(1).done())).toEqual({
      kind: 'keepalive',
      walEnd: 300n,
      replyRequested: true,
    });
    const s = statusUpdate(0x1234n, true, AT);
    expect(s.length).toBe(34);
    expect(s.toString('latin1', 0, 1)).toBe('r');
    expect([s.readBigUInt64BE(1), s.readBigUInt64BE(9), s.readBigUInt64BE(17)]).toEqual([0x1234n, 0x1234n, 0x1234n]);
    expect(s.readBigInt64BE(25)).toBe(pgMicros(AT));
    expect(s.readUInt8(33)).toBe(1);
  });

  it('quotes the slot and the publication names', () => {
    expect(startReplicationSql('my "slot"', ['pub one', "it's"], 0x1_0000_0002n)).toBe(
      `START_REPLICATION SLOT "my ""slot""" LOGICAL 1/2 (proto_version '1', publication_names '"pub one","it''s"', messages 'true')`,
    );
  });
});
