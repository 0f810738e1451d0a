import { expect } from 'vitest';
import { introspect } from '../../src/catalog/introspect.js';
import type { Catalog } from '../../src/catalog/types.js';
import { withPg } from './sql.js';

export async function catalogOf(url: string): Promise<Catalog> {
  return withPg(url, (c) => introspect(c));
}

/** Asserts that the target holds every source object with the same server-rendered definition, and nothing else. */
export async function expectSameSchema(sourceUrl: string, targetUrl: string): Promise<void> {
  const [s, t] = await Promise.all([catalogOf(sourceUrl), catalogOf(targetUrl)]);
  const target = new Map(t.objects.map((o) => [o.address, o.definition]));
  const source = new Set(s.objects.map((o) => o.address));
  const differences = s.objects
    .filter((o) => target.get(o.address) !== o.definition)
    .map((o) => `${o.address}\n  source: ${o.definition}\n  target: ${target.get(o.address) ?? '(missing)'}`);
  const extra = t.objects.filter((o) => !source.has(o.address)).map((o) => `only on the target: ${o.address}`);
  expect([...differences, ...extra], [...differences, ...extra].join('\n')).toEqual([]);
  expect(t.fingerprint).toBe(s.fingerprint);
}
