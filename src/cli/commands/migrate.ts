// migrate: migration (issue 4). Registered so the program is complete; implemented in its own change.

import { StorageError } from '../../errors.js';
import type { Program } from '../program.js';

export function registerMigrate(program: Program): void {
  program.command
    .command('migrate')
    .description('copy segments from one pool to another')
    .action(
      program.action(async () => {
        throw new StorageError('Unsupported', 'migrate is not available yet');
      }),
    );
}
