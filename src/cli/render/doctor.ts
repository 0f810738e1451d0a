import type { Check, DoctorReport, SideReport } from '../../doctor/doctor.js';

const MARK: Record<Check['status'], string> = { ok: 'ok', info: '--', warn: 'WARN', block: 'BLOCK' };

function side(r: SideReport): string[] {
  if (!r.reachable) return [`  server      ${r.server}`, `  status      unreachable (${r.error?.code ?? 'error'})`];
  return [
    `  server      ${r.server}`,
    `  version     PostgreSQL ${r.version} (${r.versionNum})`,
    `  tls         ${r.tls?.inUse ? `${r.tls.version ?? 'on'} ${r.tls.cipher ?? ''}`.trim() : 'off'} (mode ${r.tls?.mode})`,
    `  connect     ${r.connectMs} ms`,
    `  role        ${r.role}${r.superuser ? ' (superuser)' : ''}`,
    ...(r.side === 'target'
      ? [
          `  schemas     ${r.canCreateSchema ? 'may create' : 'may NOT create'}`,
          `  connections ${r.connectionsInUse} in use of ${r.maxConnections} (${r.reservedConnections} reserved)`,
        ]
      : [`  wal_level   ${r.walLevel}`]),
    `  extensions  ${(r.extensions ?? []).map((e) => `${e.name} ${e.version} (${e.schema})`).join(', ') || 'none'}`,
  ];
}

/** The human view of a doctor report; the --json view prints the same object. */
export function renderDoctor(report: DoctorReport): string {
  const lines = ['Source', ...side(report.source), '', 'Target', ...side(report.target), '', 'Checks'];
  const width = Math.max(...report.checks.map((c) => MARK[c.status].length));
  for (const c of report.checks) {
    // every coded row shows its code, as --json does (docs/preflight.md explains each)
    const code = c.code ? ` [${c.code}]` : '';
    lines.push(`  ${MARK[c.status].padEnd(width)}  ${c.side.padEnd(6)}  ${c.message}${code}`);
    if (c.hint && (c.status === 'warn' || c.status === 'block'))
      lines.push(`  ${' '.repeat(width)}  ${''.padEnd(6)}  hint: ${c.hint}`);
  }
  const blocked = report.checks.filter((c) => c.status === 'block').length;
  const warned = report.checks.filter((c) => c.status === 'warn').length;
  lines.push(
    '',
    blocked
      ? `${blocked} problem(s) block the migration.`
      : `Ready to migrate${warned ? ` (${warned} warning(s))` : ''}.`,
  );
  return lines.join('\n');
}
