// Preloaded with `node --import` by test/cli/lazy-sdk.test.ts: records every module the process
// loads, so a test can tell which SDKs a command pulled in. ES modules are seen by a resolve hook
// (test/support/module-trace-hooks.mjs), CommonJS ones (the CLI loads the SDKs by require()) in
// require.cache at exit. One path or URL a line, in the file named by $FLUX_MODULE_TRACE.

import { appendFileSync, writeFileSync } from 'node:fs';
import { createRequire, register } from 'node:module';

const file = process.env.FLUX_MODULE_TRACE;
if (file === undefined) throw new Error('module-trace.mjs: set FLUX_MODULE_TRACE to the file to write');
writeFileSync(file, '');
register(new URL('./module-trace-hooks.mjs', import.meta.url), { data: { file } });
const require = createRequire(import.meta.url);
process.on('exit', () => appendFileSync(file, `${Object.keys(require.cache).join('\n')}\n`));
