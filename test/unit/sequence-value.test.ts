import { describe, expect, it } from 'vitest';
import {
  parsePositionDefinition,
  positionDefinition,
  sequenceAtOrPast,
  setvalSql,
} from '../../src/catalog/sequence-value.js';

describe('sequence values (src/catalog/sequence-value.ts)', () => {
  it('writes and reads back a position as a catalog definition', () => {
    expect(positionDefinition({ last: '42', called: true })).toBe('last_value=42 is_called=t');
    expect(parsePositionDefinition('last_value=-9223372036854775808 is_called=f')).toEqual({
      last: '-9223372036854775808',
      called: false,
    });
    expect(parsePositionDefinition('CREATE SEQUENCE x')).toBeUndefined();
  });

  it('renders setval() with the name through the quoting helper and the value as an integer', () => {
    expect(setvalSql({ schema: 'we"ird', name: 'a.b' }, { last: '7', called: false })).toBe(
      `SELECT pg_catalog.setval('"we""ird"."a.b"', 7, false)`,
    );
    expect(() => setvalSql({ schema: 's', name: 'n' }, { last: '1); DROP TABLE t; --', called: true })).toThrow();
  });

  it('compares in the sequence direction, is_called false before true', () => {
    expect(sequenceAtOrPast({ last: '43', called: false }, { last: '42', called: true })).toBe(true);
    expect(sequenceAtOrPast({ last: '42', called: false }, { last: '42', called: true })).toBe(false);
    expect(sequenceAtOrPast({ last: '-5', called: true }, { last: '-3', called: true }, true)).toBe(true);
    expect(sequenceAtOrPast({ last: '-2', called: true }, { last: '-3', called: true }, true)).toBe(false);
  });
});
