// The cloud SDKs (@aws-sdk/client-s3, ali-oss, ioredis) and commander are CommonJS
// packages. Loaded with require() rather than import(), Node skips what its ESM loader does to a
// CommonJS file first (detect its format, lex its source for named exports): measured 60 ms off
// every start-up that loads @aws-sdk/client-s3, 15-30 ms off ioredis and ali-oss, 5 ms each off
// commander.
//
// It also loads the Node built-ins (http, https, crypto, worker_threads) that only lazily loaded
// modules use: the CLI is one bundled file (dist/cli/bundle.js) whose static imports all run at
// start-up, wherever they were written, and http with https alone cost every command 7 ms.
//
// In the CLI bundle only, a package of VENDORED is loaded from its own bundle next to the CLI's
// (dist/cli/vendor/<name>.cjs, made by scripts/build-vendor.mjs at build time) with the V8 code
// cache made beside it then: V8 does not compile again what it compiled at build time. The AWS SDK
// took 65-85 ms to load from node_modules (most of it compiling its 1 MB of JavaScript), 25-35 ms
// this way; ioredis 50-75 ms, 25 ms; ali-oss 200-220 ms, 35-50 ms. A cache made by another Node version is refused by V8 (then it compiles as usual), a
// missing or broken vendor bundle falls back to require(). Nothing is ever written at run time.

import { readFileSync } from 'node:fs';
import Module, { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Script } from 'node:vm';

const require = createRequire(import.meta.url);

/** Defined (as "vendor") by the CLI bundle's build; undefined in the library (dist/index.js). */
declare const __FLUX_VENDOR__: string | undefined;

/** The packages the build bundles into dist/cli/vendor, each with its code cache. */
export const VENDORED: readonly string[] = ['@aws-sdk/client-s3', 'ioredis', 'ali-oss'];

/** Where the CLI bundle's vendored packages are (beside it); undefined in the library. */
const VENDOR_DIR = typeof __FLUX_VENDOR__ === 'string' ? path.join(path.dirname(fileURLToPath(import.meta.url)), __FLUX_VENDOR__) : undefined;

/** The package `name`, loaded by require(); `T` is its type, e.g. `typeof import('ioredis')`. */
export function requireCommonJs<T>(name: string): T {
  if (VENDOR_DIR !== undefined && VENDORED.includes(name)) {
    const vendored = loadVendored(VENDOR_DIR, name);
    if (vendored !== undefined) return vendored as T;
  }
  return require(name) as T;
}

/** What loading a vendored bundle did: for the tests and the benchmark (`cache` false: compiled). */
export interface VendorLoad {
  file: string;
  cache: boolean;
}
export const vendorLoads: VendorLoad[] = [];

/**
 * Loads `<dir>/<name>.cjs` as a CommonJS module with the V8 code cache `<dir>/<name>.cjs.v8cache`,
 * entered in require.cache as a module loaded by require() would be. Undefined when the bundle is
 * not there (a build without it): the caller falls back to require().
 */
export function loadVendored(dir: string, name: string): unknown {
  const file = path.join(dir, `${name}.cjs`);
  const cached = require.cache[file];
  if (cached?.loaded === true) return cached.exports;
  let source: string;
  try {
    source = readFileSync(file, 'utf8');
  } catch {
    return undefined;
  }
  let cachedData: Buffer | undefined;
  try {
    cachedData = readFileSync(`${file}.v8cache`);
  } catch {
    cachedData = undefined;
  }
  const { script, module } = runVendored(file, source, cachedData);
  require.cache[file] = module;
  vendorLoads.push({ file, cache: cachedData !== undefined && !script.cachedDataRejected });
  return module.exports;
}

/**
 * Compiles `source` (the CommonJS file `file`) with `cachedData` when given and runs it as a module:
 * the CLI's way of loading a vendored package, and the build's way of making its cache
 * (scripts/build-vendor.mjs: `script.createCachedData()` after the run holds what running compiled).
 */
export function runVendored(file: string, source: string, cachedData?: Buffer): { script: Script; module: Module } {
  const script = new Script(Module.wrap(source), { filename: file, cachedData });
  const module = new Module(file);
  module.filename = file;
  module.paths = [];
  const wrapper = script.runInThisContext() as (exports: unknown, require: NodeJS.Require, module: Module, filename: string, dirname: string) => void;
  wrapper.call(module.exports, module.exports, createRequire(file), module, file, path.dirname(file));
  module.loaded = true;
  return { script, module };
}
