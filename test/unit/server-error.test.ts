/**
 * Server errors as pgshift keeps them (messages, checkpoint and run errors): no row value, whatever the class.
 */
import { describe, expect, it } from 'vitest';
import { describeServerError, maskServerValues } from '../../src/db/server-error.js';

const err = (fields: Record<string, string>): Error => Object.assign(new Error(fields.message ?? ''), fields);

describe('describeServerError', () => {
  it('replaces the message of a trigger or function (RAISE can quote any value) by its name and line', () => {
    const e = err({
      code: 'P0001',
      message: 'patient MRN-0000444 refused',
      where: 'PL/pgSQL function clinic.refuse() line 3 at RAISE\nCOPY patients, line 44: "MRN-0000444\tbob"',
    });
    expect(describeServerError(e)).toBe(
      'an exception raised by a trigger or function, in function clinic.refuse() line 3 (SQLSTATE P0001)',
    );
    for (const code of ['P0004', '38000', '39P01', '2F005', '21000', 'HV000']) {
      expect(describeServerError(err({ code, message: 'value MRN-1 here' }))).not.toContain('MRN-1');
    }
  });

  it('describes data errors from the structured fields only', () => {
    const e = err({
      code: '23505',
      message: 'duplicate key value violates unique constraint "p_pkey"',
      detail: 'Key (mrn)=(MRN-1) already exists.',
      constraint: 'p_pkey',
      schema: 'clinic',
      table: 'patients',
    });
    expect(describeServerError(e)).toBe(
      'unique violation, constraint "p_pkey", table "clinic.patients" (SQLSTATE 23505)',
    );
    expect(describeServerError(err({ code: '22P02', message: 'invalid input syntax for type integer: "MRN-1"' }))).toBe(
      'invalid input syntax (SQLSTATE 22P02)',
    );
  });

  it('keeps the messages the server writes about objects', () => {
    expect(describeServerError(err({ code: '42P01', message: 'relation "clinic.x" does not exist' }))).toBe(
      'relation "clinic.x" does not exist (SQLSTATE 42P01)',
    );
  });
});

describe('maskServerValues', () => {
  it('masks the forms of PostgreSQL messages that quote values', () => {
    expect(
      maskServerValues(
        'Key (mrn, born)=(MRN-1, (1950-01-01)) already exists; Failing row contains (MRN-1, bob, null).',
      ),
    ).toBe('Key (mrn, born)=(***) already exists; Failing row contains (***).');
    expect(maskServerValues('invalid input value for enum mood: "MRN-1"')).toBe(
      'invalid input value for enum mood: "***"',
    );
    expect(maskServerValues('copy clinic.patients: the batch after 400 rows')).toBe(
      'copy clinic.patients: the batch after 400 rows',
    );
  });
});
