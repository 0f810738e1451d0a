import { createInterface } from 'node:readline/promises';
import { PgshiftError } from '../errors/index.js';

export function interactive(): boolean {
  return process.stdin.isTTY === true && process.stdout.isTTY === true && process.env.CI !== 'true';
}

/** Terraform's question: only `yes` goes on. Without a terminal (or CI=true) there is no one to ask: fail. */
export async function askYes(question: string, command: string): Promise<boolean> {
  if (!interactive()) {
    throw new PgshiftError('APPROVAL_REQUIRED', `\`pgshift ${command}\` needs approval and there is no terminal to ask (or CI=true)`, {
      hint: `Review the plan, then run \`pgshift ${command} --auto-approve\`, or apply a saved plan: \`pgshift plan --out plans/NAME.plan.json\` and \`pgshift apply plans/NAME.plan.json\`.`,
    });
  }
  const rl = createInterface({ input: process.stdin, output: process.stdout });
  try {
    const answer = await rl.question(`${question}\n  Only 'yes' will be accepted to approve.\n\n  Enter a value: `);
    return answer.trim() === 'yes';
  } finally {
    rl.close();
  }
}
