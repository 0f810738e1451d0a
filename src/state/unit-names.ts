/**
 * How copy units are named in the state: `copy public.patients` for a whole table, `copy public.observations [2/4]`
 * for part 2 of 4 of a split table.
 */

/** The unit of part `index` of `of` of a split table. */
export function partAddress(t: { readonly schema: string; readonly name: string }, index: number, of: number): string {
  return `copy ${t.schema}.${t.name} [${index}/${of}]`;
}

/** `[2/4]` at the end of a part's unit: its index and part count; undefined for a whole table's unit. */
export function parsePart(unit: string): { readonly index: number; readonly of: number } | undefined {
  const m = / \[([0-9]+)\/([0-9]+)\]$/.exec(unit);
  return m ? { index: Number(m[1]), of: Number(m[2]) } : undefined;
}

/** The whole table's unit of a unit (itself, or the table a part belongs to). */
export function tableUnit(unit: string): string {
  return unit.replace(/ \[[0-9]+\/[0-9]+\]$/, '');
}
