import { Flags } from '@oclif/core';

export const configFlag = Flags.string({
  char: 'c',
  description: 'Path of the migration config.',
  default: 'migration.yaml',
});

export const jsonFlag = Flags.boolean({
  description: 'Print machine-readable JSON on stdout.',
  default: false,
});

export const autoApproveFlag = Flags.boolean({
  description: 'Do not ask for confirmation (needed when there is no terminal, or CI=true).',
  default: false,
});
