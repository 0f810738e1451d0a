/** cutover.strategy and cutover.stream: omitted means auto, existing configs stay valid, sizes parse, contradictions are refused. */
import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config/load.js';
import { formatProblem } from '../../src/config/problems.js';

const HEAD = `version: 1
name: t
source:
  url: postgres://app:pw@127.0.0.1:5432/a
target:
  url: postgres://postgres:pw@127.0.0.1:5433/b
`;

function parse(text: string): ReturnType<typeof parseConfig> {
  return parseConfig(`${HEAD}${text}`, 'm.yaml', {});
}

describe('config: cutover.strategy and cutover.stream', () => {
  it('omitted: auto, replica identity untouched, 10GB of retained WAL', () => {
    const r = parse('');
    expect(r.problems).toEqual([]);
    expect(r.config?.cutover.strategy).toBe('auto');
    expect(r.config?.cutover.stream).toEqual({ replicaIdentityFull: false, maxSlotRetainedBytes: 10 * 1024 ** 3 });
  });

  it('an existing config with strategy freeze stays valid; stream and its options are read', () => {
    expect(parse('cutover:\n  strategy: freeze\n').config?.cutover.strategy).toBe('freeze');
    const r = parse(
      'cutover:\n  strategy: stream\n  stream:\n    replica_identity_full: true\n    max_slot_retained: 512MB\n',
    );
    expect(r.problems).toEqual([]);
    expect(r.config?.cutover.strategy).toBe('stream');
    expect(r.config?.cutover.stream).toEqual({ replicaIdentityFull: true, maxSlotRetainedBytes: 512 * 1024 ** 2 });
  });

  it('refuses an unknown strategy, a size without a unit, and replica_identity_full under freeze', () => {
    const show = (text: string): string[] => parse(text).problems.map((p) => formatProblem('m.yaml', p));
    expect(show('cutover:\n  strategy: auto\n').join('\n')).toMatch(/strategy/);
    expect(show('cutover:\n  stream:\n    max_slot_retained: "10"\n').join('\n')).toMatch(/max_slot_retained/);
    expect(show('cutover:\n  strategy: freeze\n  stream:\n    replica_identity_full: true\n')).toEqual([
      expect.stringMatching(/replica_identity_full: true .* cutover.strategy is freeze/),
    ]);
  });
});
