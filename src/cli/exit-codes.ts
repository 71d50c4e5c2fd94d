// The exit codes of flux-storage, documented in the README. Scripts depend on them.

import { isStorageError } from '../errors.js';

export const EXIT = {
  /** Everything asked for was done. */
  ok: 0,
  /** An operation failed (a pool unreachable, a delete refused, a pool unhealthy in `pools status`). */
  failed: 1,
  /** Bad usage or config: nothing was changed. */
  usage: 2,
  /** `get` or `rm` of a segment that no pool holds. */
  notFound: 3,
  /** Interrupted by Ctrl-C, SIGTERM or SIGHUP (calls in flight aborted; migrate prints its summary first). */
  interrupted: 130,
} as const;

export type ExitCode = (typeof EXIT)[keyof typeof EXIT];

export function exitCodeFor(error: unknown): ExitCode {
  if (!isStorageError(error)) return EXIT.failed;
  switch (error.code) {
    case 'InvalidKey':
    case 'InvalidArgument':
    case 'ConfigInvalid':
      return EXIT.usage;
    case 'NotFound':
      return EXIT.notFound;
    case 'Interrupted':
      return EXIT.interrupted;
    default:
      return EXIT.failed;
  }
}
