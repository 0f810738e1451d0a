import { createInterface } from 'node:readline/promises';
import { PgshiftError } from '../errors/index.js';

export function interactive(): boolean {
  return process.stdin.isTTY === true && process.stdout.isTTY === true && process.env.CI !== 'true';
}

/** Terraform's question: only `yes` goes on. Without a terminal (or CI=true) there is no one to ask: fail. */
export async function askYes(question: string, command: string): Promise<boolean> {
  if (!interactive()) {
    throw new PgshiftError(
      'APPROVAL_REQUIRED',
      `\`pgshift ${command}\` needs approval and there is no terminal to ask (or CI=true)`,
      {
        hint: `Review the plan, then run \`pgshift ${command} --auto-approve\`, or apply a saved plan: \`pgshift plan --out plans/NAME.plan.json\` and \`pgshift apply plans/NAME.plan.json\`.`,
      },
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
