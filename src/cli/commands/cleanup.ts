// cleanup: retention (issue 4). Registered so the program is complete; implemented in its own change.

import { StorageError } from '../../errors.js';
import type { Program } from '../program.js';

export function registerCleanup(program: Program): void {
  program.command
    .command('cleanup')
    .description('delete old segments, keeping the newest N per stream')
    .action(
      program.action(async () => {
        throw new StorageError('Unsupported', 'cleanup is not available yet');
      }),
    );
}
