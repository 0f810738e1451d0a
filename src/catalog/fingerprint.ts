import { createHash } from 'node:crypto';

import type { CatalogObject } from './types.js';

/**
 * sha256 (hex) over the sorted `address\0definition` lines of the objects: the same schema gives the same
 * fingerprint, whatever the order the objects were read in. Owners and ACLs are not part of it, and neither are
 * sequence values: they move with every insert on a live source, which must not make every saved plan stale.
 */
export function fingerprint(objects: readonly Pick<CatalogObject, 'address' | 'definition' | 'kind'>[]): string {
  const lines = objects.filter((o) => o.kind !== 'sequence_value').map((o) => `${o.address}\0${o.definition}`);
  lines.sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  const hash = createHash('sha256');
  for (const line of lines) hash.update(line).update('\n');
  return hash.digest('hex');
}
