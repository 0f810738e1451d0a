import { createInterface } from 'node:readline/promises';
import { PgshiftError } from '../errors/index.js';

export function interactive(): boolean {
  return process.stdin.isTTY === true && process.stdout.isTTY === true && process.env.CI !== 'true';
}

/** The commands that ask for approval. */
export type ApprovalCommand = 'apply' | 'cutover' | 'rollback' | 'destroy';

const TERMINAL = 'or run it in a terminal (without CI=true) to answer the question';

/** What approves each command without a question: only apply has saved plans (apply of one needs no approval). */
export function approvalHint(command: ApprovalCommand): string {
  switch (command) {
    case 'apply':
      return `Review the plan, then run \`pgshift apply --auto-approve\`, or apply a saved plan: \`pgshift plan --out plans/NAME.plan.json\` and \`pgshift apply plans/NAME.plan.json\`.`;
    case 'cutover':
      return `Review the cutover steps printed above, then run \`pgshift cutover --auto-approve\`, ${TERMINAL}.`;
    case 'rollback':
      return `Review the rollback steps printed above, then run \`pgshift rollback --auto-approve\`, ${TERMINAL}.`;
    case 'destroy':
      return `Review what is listed above, then run \`pgshift destroy --auto-approve\`, ${TERMINAL}.`;
    default: {
      const never: never = command;
      return never;
    }
  }
}

/** Terraform's question: only `yes` goes on. Without a terminal (or CI=true) there is no one to ask: fail. */
export async function askYes(question: string, command: ApprovalCommand): Promise<boolean> {
  if (!interactive()) {
    throw new PgshiftError(
      'APPROVAL_REQUIRED',
      `\`pgshift ${command}\` needs approval and there is no terminal to ask (or CI=true)`,
      { hint: approvalHint(command) },
    );
  }
  const rl = createInterface({ input: process.stdin, output: process.stdout });
  try {
    const answer = await new Promise<string>((resolve, reject) => {
      // Ctrl-C at the question: the operator stopped, nothing was approved (exit 130, not a crash)
      rl.once('SIGINT', () => {
        process.stdout.write('\n');
        reject(
          new PgshiftError('INTERRUPTED', 'Aborted: Ctrl-C at the approval question, nothing was approved', {
            hint: `Run \`pgshift ${command}\` again when ready.`,
          }),
        );
      });
      // Ctrl-D (end of input) answers nothing: not approved
      rl.once('close', () => resolve(''));
      rl.question(`${question}\n  Only 'yes' will be accepted to approve.\n\n  Enter a value: `).then(resolve, reject);
    });
    return answer.trim() === 'yes';
  } finally {
    rl.close();
  }
}
