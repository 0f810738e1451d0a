import { differing, type RowDifference, type VerifyFinding, type VerifyReport } from '../../verify/report.js';

export { differing };

function n(x: number): string {
  return x.toLocaleString('en-US');
}

function key(d: RowDifference): string {
  if (d.key)
    return Object.entries(d.key)
      .map(([k, v]) => `${k}=${v}`)
      .join(', ');
  if (d.keyHash) return `key #${d.keyHash}`;
  return `row #${d.rowHash ?? '?'}${d.count && d.count > 1 ? ` (x${d.count})` : ''}`;
}

const CAUSES: Record<NonNullable<RowDifference['cause']>, string> = {
  'changed-since-copy': ' — written on the source since the copy (the final sync re-copies it)',
  'copy-error': ' — NOT written since the copy: a wrong copy',
  'gone-from-source':
    ' — gone from the source since the copy (deleted or rewritten): pending the final sync, which removes it',
};

function describe(d: RowDifference): string {
  return `${what(d)}${d.cause ? CAUSES[d.cause] : ''}`;
}

function what(d: RowDifference): string {
  switch (d.kind) {
    case 'missing':
      return `missing on the target: ${key(d)}`;
    case 'extra':
      return `extra on the target: ${key(d)}`;
    case 'duplicate':
      return `duplicated on the target: ${key(d)}${d.count ? `, ${d.count} more cop${d.count === 1 ? 'y' : 'ies'}` : ''}`;
    case 'changed':
      return `changed: ${key(d)}${d.columns?.length ? ` (column${d.columns.length === 1 ? '' : 's'} ${d.columns.join(', ')})` : ''}`;
    default:
      return String(d.kind);
  }
}

const LO_KINDS = {
  missing: 'missing on the target',
  extra: 'extra on the target (pgshift created it; the source no longer has it)',
  changed: 'content differs (size or digest)',
} as const;

/** Findings of a verification (warnings, not differences), as plan shows its findings. */
export function renderVerifyFindings(findings: readonly VerifyFinding[] | undefined): string[] {
  if (!findings || findings.length === 0) return [];
  return [
    '',
    'Findings (not differences: the target is a faithful copy of them):',
    ...findings.map((f) => `  Warning [${f.code}]: ${f.address}: ${f.message}\n    Hint: ${f.hint}`),
  ];
}

/** The text view of a verification report (the --json view prints the same object). */
export function renderVerifyText(r: VerifyReport): string {
  const lines = [
    `Verification ${r.ok ? 'PASSED' : 'FAILED'}: ${r.summary.tables} tables, ${n(r.summary.rowsCompared)} source rows${r.largeObjects ? `, ${n(r.largeObjects.source)} large objects` : ''}, policy: ${r.policy.rowCounts ? 'row counts, ' : ''}checksums ${r.policy.checksums}, ${(r.summary.ms / 1000).toFixed(1)} s`,
    '',
  ];
  const width = Math.max(5, r.largeObjects ? 'large objects'.length : 0, ...r.tables.map((t) => t.table.length));
  lines.push(
    `  ${'table'.padEnd(width)}  ${'source rows'.padStart(12)}  ${'target rows'.padStart(12)}  checksum  differences`,
  );
  for (const t of r.tables) {
    lines.push(
      `  ${t.table.padEnd(width)}  ${n(t.rowsSource).padStart(12)}  ${n(t.rowsTarget).padStart(12)}  ${t.checksum.padEnd(8)}  ${t.differences.length || (t.rowsSource !== t.rowsTarget ? 'counts differ' : '-')}${t.truncated ? '+' : ''}`,
    );
  }
  const lo = r.largeObjects;
  if (lo)
    lines.push(
      `  ${'large objects'.padEnd(width)}  ${n(lo.source).padStart(12)}  ${n(lo.target).padStart(12)}  ${lo.checksum.padEnd(8)}  ${lo.differing || '-'}`,
    );
  const diffs = r.tables.flatMap((t) => t.differences.map((d) => `  ${t.table}: ${describe(d)}`));
  if (diffs.length > 0) lines.push('', 'Row differences:', ...diffs);
  if (lo && lo.differences.length > 0)
    lines.push(
      '',
      'Large object differences (by OID):',
      ...lo.differences.map((d) => `  large object ${d.oid}: ${LO_KINDS[d.kind]}`),
      ...(lo.truncated ? [`  ... and ${n(lo.differing - lo.differences.length)} more`] : []),
    );
  const samples = r.tables.filter((t) => t.sample && t.sample.size > 0);
  if (samples.length > 0) {
    lines.push('', `Samples (seed ${samples[0]?.sample?.seed}):`);
    for (const t of samples) {
      const s = t.sample;
      if (!s) continue;
      lines.push(
        `  ${t.table}: ${n(s.size)} rows compared, ${s.mismatches} mismatch${s.mismatches === 1 ? '' : 'es'}${s.upperBound95 !== null ? `; mismatch rate below ${(s.upperBound95 * 100).toFixed(2)}% at 95% confidence` : ''}`,
      );
    }
  }
  if (r.schema.length > 0) {
    lines.push('', 'Schema differences:');
    for (const d of r.schema)
      lines.push(`  ${d.kind.replace('_', ' ')}: ${d.address}${d.detail ? ` (${d.detail})` : ''}`);
  }
  lines.push(...renderVerifyFindings(r.findings));
  const live = liveSummary(r);
  if (live) lines.push('', live);
  if (!r.ok) lines.push('', `${differing(r.summary)} differ. Report ${r.id} is stored in pgshift.verifications.`);
  else if (!live) lines.push('', 'The target holds exactly what the source holds.');
  return lines.join('\n');
}

/**
 * What writes on the live source since the copy account for: rows written since (explained by the source's xmin or
 * verify.updated_at_column) and rows gone from the source (pending the final sync), named per table. Undefined when
 * there are none.
 */
export function liveSummary(
  r: Pick<VerifyReport, 'ok' | 'summary'> & {
    readonly tables: ReadonlyArray<{ readonly table: string; readonly pendingFinalSync?: number }>;
  },
): string | undefined {
  const written = r.summary.changedSinceCopy ?? 0;
  const pending = r.tables.filter((t) => (t.pendingFinalSync ?? 0) > 0);
  if (written === 0 && pending.length === 0) return undefined;
  const parts: string[] = [];
  if (written > 0) parts.push(`${n(written)} row(s) written on the source since their table's copy`);
  if (pending.length > 0) {
    const total = pending.reduce((x, t) => x + (t.pendingFinalSync ?? 0), 0);
    parts.push(
      `${n(total)} row(s) gone from the source since the copy, pending the final sync (${pending.map((t) => `${t.table}: ${n(t.pendingFinalSync ?? 0)}`).join(', ')})`,
    );
  }
  return `The source is live: ${parts.join('; ')}. ${r.ok ? 'The target holds what the source held when each table was copied; the cutover' : 'The cutover'}'s catch-up and final sync carry them (the verification inside its write freeze compares strictly).`;
}

export function renderVerifyMarkdown(r: VerifyReport): string {
  const lines = [
    `### pgshift verify: ${r.ok ? 'passed' : '**failed**'}`,
    '',
    '| table | source rows | target rows | checksum | differences |',
    '| --- | ---: | ---: | --- | ---: |',
  ];
  for (const t of r.tables)
    lines.push(
      `| \`${t.table}\` | ${n(t.rowsSource)} | ${n(t.rowsTarget)} | ${t.checksum} | ${t.differences.length} |`,
    );
  if (r.largeObjects)
    lines.push(
      `| large objects | ${n(r.largeObjects.source)} | ${n(r.largeObjects.target)} | ${r.largeObjects.checksum} | ${r.largeObjects.differing} |`,
    );
  if (r.schema.length > 0) {
    lines.push('', '| schema object | difference |', '| --- | --- |');
    for (const d of r.schema) lines.push(`| \`${d.address}\` | ${d.kind} |`);
  }
  if (r.findings && r.findings.length > 0) {
    lines.push('', '| finding | object | next step |', '| --- | --- | --- |');
    for (const f of r.findings) lines.push(`| \`${f.code}\` | \`${f.address}\` | ${f.hint.replace(/\|/g, '\\|')} |`);
  }
  return lines.join('\n');
}
