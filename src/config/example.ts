// Where the example config is: the storage.config.example.json shipped with the package, named by
// a path the user can open (relative when it is under the working directory).

import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** The example config's path; this module is two folders below the package (src/config, dist/config, dist/cli/bundle.js). */
export function exampleConfigPath(cwd: string): string {
  const file = fileURLToPath(new URL('../../storage.config.example.json', import.meta.url));
  const relative = path.relative(cwd, file);
  return relative === '' || relative.startsWith('..') || path.isAbsolute(relative) ? file : relative;
}
