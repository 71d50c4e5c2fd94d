// Part of `npm run build`: bundles each package of VENDORED (src/commonjs.ts) into
// dist/cli/vendor/<name>.cjs, one minified CommonJS file (built from the package's ES modules where
// it has them), and makes its V8 code cache, <name>.cjs.v8cache, by loading
// it once the way the CLI does. The CLI then starts without compiling the SDK again (see
// src/commonjs.ts); the cache fits the Node that ran the build, and another Node refuses it.

import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const out = path.join(root, 'dist/cli/vendor');
const { VENDORED, runVendored } = await import(path.join(root, 'dist/commonjs.js'));
/**
 * Packages a vendored one requires that are not installed, left as require() calls: they fail at
 * run time exactly as they do unbundled. urllib (ali-oss's HTTP client) requires proxy-agent only
 * when a proxy is configured, and it is not among ali-oss's dependencies.
 */
const NOT_INSTALLED = { 'ali-oss': ['proxy-agent'] };

for (const name of VENDORED) {
  const file = path.join(out, `${name}.cjs`);
  mkdirSync(path.dirname(file), { recursive: true });
  await build({
    // module.exports as require() gives it: the named exports of an ES module package, a CommonJS
    // package's own (ioredis: the Redis class with Cluster on it).
    stdin: { contents: `module.exports = require(${JSON.stringify(name)});`, resolveDir: root, loader: 'js' },
    bundle: true,
    format: 'cjs',
    platform: 'node',
    target: 'node20',
    // The packages' ES modules where they have them: smaller than their CommonJS builds.
    mainFields: ['module', 'main'],
    minify: true,
    // Class and function names stay as written (errors are told apart by them).
    keepNames: true,
    legalComments: 'none',
    external: NOT_INSTALLED[name] ?? [],
    outfile: file,
    logLevel: 'warning',
  });
  // A script run by node:vm has no import(): the bundle's own (of Node built-ins only, node:http
  // and node:async_hooks) become require(), still answered a tick later; any other fails the build.
  const source = readFileSync(file, 'utf8').replace(/\bimport\("(node:[a-z_/]+)"\)/g, 'Promise.resolve().then(() => require("$1"))');
  const left = source.match(/\bimport\([^)]{0,60}\)/);
  if (left !== null) throw new Error(`build-vendor: the bundle of ${name} has ${left[0]}, which a vm script cannot run`);
  writeFileSync(file, source);
  // Compiled and run (as the CLI loads it), then cached: the cache holds the functions that running
  // it compiled, not only its top level.
  const { script, module } = runVendored(file, source);
  const exported = Object.keys(module.exports).length;
  if (exported < Object.keys(createRequire(path.join(root, 'package.json'))(name)).length) {
    throw new Error(`build-vendor: the bundle of ${name} exports ${exported} names, fewer than the package`);
  }
  writeFileSync(`${file}.v8cache`, script.createCachedData());
}
