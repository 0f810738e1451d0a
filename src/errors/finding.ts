/**
 * A finding: what plan, preflight or the mapping found about a migration, with a stable code, a severity (a blocker
 * stops apply) and a hint naming the next step. The plan carries them (src/plan/model.ts re-exports these types).
 */

export type Severity = 'warning' | 'blocker';

export interface Finding {
  readonly code: string;
  readonly severity: Severity;
  readonly address?: string;
  readonly message: string;
  readonly hint?: string;
}
