#!/usr/bin/env node
// The reference for `put` into a Redis pool: every file of DIR read and stored with a plain SET
// (ioredis, a fixed number of commands in flight). No index, no TTL: the floor, not an equal.
//
//   node bench/redis-set-loop.mjs --port P --dir DIR [--prefix bench:ref/] [--concurrency 16]

import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { parseArgs } from 'node:util';
import Redis from 'ioredis';

const { values } = parseArgs({
  options: {
    port: { type: 'string' },
    dir: { type: 'string' },
    prefix: { type: 'string', default: 'bench:ref/' },
    concurrency: { type: 'string', default: '16' },
  },
  strict: true,
});
const started = process.hrtime.bigint();
const redis = new Redis({ host: '127.0.0.1', port: Number(values.port), lazyConnect: true, maxRetriesPerRequest: 1 });
await redis.connect();
const files = (await readdir(values.dir)).filter((f) => f.endsWith('.ts'));
let next = 0;
let bytes = 0;
async function worker() {
  while (next < files.length) {
    const name = files[next++];
    const data = await readFile(path.join(values.dir, name));
    await redis.set(values.prefix + name, data);
    bytes += data.length;
  }
}
await Promise.all(Array.from({ length: Math.min(Number(values.concurrency), files.length) }, worker));
await redis.quit();
const seconds = Number(process.hrtime.bigint() - started) / 1e9;
process.stdout.write(`${JSON.stringify({ objects: files.length, bytes, seconds })}\n`);
