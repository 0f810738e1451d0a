import type { Catalog, TableInfo } from '../catalog/types.js';

export interface StarterOptions {
  readonly name: string;
  readonly sourceDisplay: string;
  readonly schemaRef: string;
}

function yamlString(s: string): string {
  return JSON.stringify(s);
}

function size(bytes: number): string {
  if (bytes >= 1 << 30) return `${(bytes / (1 << 30)).toFixed(1)} GB`;
  if (bytes >= 1 << 20) return `${(bytes / (1 << 20)).toFixed(1)} MB`;
  return `${Math.round(bytes / 1024)} kB`;
}

/** A commented starter migration.yaml for a source catalog. Pure; never writes a secret (URLs stay ${VARS}). */
export function renderStarter(catalog: Catalog, opts: StarterOptions): string {
  const roots = catalog.tables.filter((t) => t.kind !== 'partition');
  const bySchema = new Map<string, TableInfo[]>();
  for (const t of roots) bySchema.set(t.schema, [...(bySchema.get(t.schema) ?? []), t]);
  const schemas = [...bySchema.keys()].sort();
  const keyless = roots.filter((t) => t.kind === 'table' && !t.key);
  const lines = [
    `# yaml-language-server: $schema=${opts.schemaRef}`,
    `#`,
    `# Written by \`pgshift init\` from ${opts.sourceDisplay} (${catalog.tables.length} tables in ${schemas.length} schema(s)).`,
    `# Check it with \`pgshift validate\`, then see what would happen with \`pgshift plan\`.`,
    `# Secrets stay in the environment: export SOURCE_DATABASE_URL and TARGET_DATABASE_URL.`,
    `version: 1`,
    `name: ${yamlString(opts.name)}`,
    ``,
    `source:`,
    `  url: \${SOURCE_DATABASE_URL}`,
    ``,
    `target:`,
    `  url: \${TARGET_DATABASE_URL}          # direct (5432) or session pooler; never the transaction pooler (6543)`,
    `  provider: postgres                   # supabase for a Supabase project (TLS verify-full, RLS before data)`,
    ``,
    `tables:`,
    `  include:`,
  ];
  for (const s of schemas) {
    const ts = bySchema.get(s) ?? [];
    const bytes = ts.reduce((n, t) => n + t.estimatedBytes, 0);
    const rows = ts.reduce((n, t) => n + t.estimatedRows, 0);
    lines.push(
      `    - ${yamlString(`${s}.*`)}${' '.repeat(Math.max(1, 30 - s.length))}# ${ts.length} tables, ~${rows.toLocaleString('en-US')} rows, ${size(bytes)}`,
    );
  }
  lines.push(`  exclude: []`);
  if (keyless.length > 0) {
    lines.push(`  # These tables have no primary key or unique NOT NULL key: each is copied as one atomic unit`);
    lines.push(`  # (no resume inside it) unless you name columns that identify a row:`);
    lines.push(`  # overrides:`);
    for (const t of keyless.slice(0, 20))
      lines.push(
        `  #   ${yamlString(`${t.schema}.${t.name}`)}: { key: [${t.columns[0] ? yamlString(t.columns[0].name) : 'id'}] }`,
      );
  }
  lines.push(
    ``,
    `copy:`,
    // left unset: pgshift's default, which a key in no heap order enlarges (docs/copy.md); a set value is kept as is
    `  # batch_size: 100000                 # rows per committed batch (checkpoint granularity); unset, a key in no`,
    `  #                                    # heap order (uuid) gets fewer, larger batches (docs/copy.md)`,
    `  parallel: 4                          # tables (or slices) copied at once; each uses a connection per side`,
    ``,
    `verify:`,
    `  row_counts: true`,
    `  sample: { percent: 1, min_rows: 100, max_rows: 10000, seed: 42 }`,
    `  checksums: full                      # none | sampled | full`,
    ``,
    `cutover:`,
    `  mode: manual                         # manual: \`pgshift cutover\`; auto: apply cuts over once verified`,
    `  require_verified: true`,
    `  max_write_freeze: 60s`,
    ``,
  );
  return lines.join('\n');
}
