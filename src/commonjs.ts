// The cloud SDKs (@aws-sdk/client-s3, ali-oss, ioredis) and commander are CommonJS
// packages. Loaded with require() rather than import(), Node skips what its ESM loader does to a
// CommonJS file first (detect its format, lex its source for named exports): measured 60 ms off
// every start-up that loads @aws-sdk/client-s3, 15-30 ms off ioredis and ali-oss, 5 ms each off
// commander.
//
// It also loads the Node built-ins (http, https, crypto, worker_threads) that only lazily loaded
// modules use: the CLI is one bundled file (dist/cli/bundle.js) whose static imports all run at
// start-up, wherever they were written, and http with https alone cost every command 7 ms.

import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);

/** The package `name`, loaded by require(); `T` is its type, e.g. `typeof import('ioredis')`. */
export function requireCommonJs<T>(name: string): T {
  return require(name) as T;
}
