#!/usr/bin/env node
// The reference for `migrate` local→S3: a plain @aws-sdk/client-s3 PutObject loop, as lean as it
// gets (keep-alive agent, WHEN_REQUIRED checksums, a fixed number of uploads in flight).
//
//   node bench/sdk-put-loop.mjs --endpoint http://127.0.0.1:PORT --bucket B --concurrency 16 \
//     (--dir DIR --prefix hls/ | --count N --size BYTES --prefix hls/stream/)
//
// --dir: every file under DIR (recursively), key = prefix + its path relative to DIR, read into a
// Buffer and sent with PutObject. --count: N synthetic objects segment_<i>.ts of BYTES bytes each.
// Prints one JSON line { objects, bytes, seconds } on stdout.

import { readdir, readFile } from 'node:fs/promises';
import { Agent } from 'node:http';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { PutObjectCommand, S3Client } from '@aws-sdk/client-s3';

const { values } = parseArgs({
  options: {
    endpoint: { type: 'string' },
    bucket: { type: 'string' },
    concurrency: { type: 'string', default: '16' },
    dir: { type: 'string' },
    prefix: { type: 'string', default: '' },
    count: { type: 'string' },
    size: { type: 'string', default: '1024' },
  },
  strict: true,
});
if (!values.endpoint || !values.bucket || (!values.dir && !values.count)) {
  process.stderr.write('usage: sdk-put-loop.mjs --endpoint URL --bucket B (--dir DIR | --count N [--size B]) [--prefix P] [--concurrency N]\n');
  process.exit(2);
}
const concurrency = Number(values.concurrency);
const started = process.hrtime.bigint();

const agent = new Agent({ keepAlive: true, maxSockets: concurrency });
const client = new S3Client({
  region: 'us-east-1',
  endpoint: values.endpoint,
  forcePathStyle: true,
  credentials: { accessKeyId: process.env.AWS_ACCESS_KEY_ID ?? 'S3RVER', secretAccessKey: process.env.AWS_SECRET_ACCESS_KEY ?? 'S3RVER' },
  requestChecksumCalculation: 'WHEN_REQUIRED',
  responseChecksumValidation: 'WHEN_REQUIRED',
  requestHandler: { httpAgent: agent },
});

/** Jobs: { key, load(): Promise<Buffer> }. */
let jobs;
if (values.dir) {
  const root = path.resolve(values.dir);
  const entries = await readdir(root, { recursive: true, withFileTypes: true });
  jobs = entries
    .filter((e) => e.isFile())
    .map((e) => {
      const full = path.join(e.parentPath ?? e.path, e.name);
      return { key: values.prefix + path.relative(root, full).split(path.sep).join('/'), load: () => readFile(full) };
    });
} else {
  const body = Buffer.alloc(Number(values.size), 0x47);
  jobs = Array.from({ length: Number(values.count) }, (_, i) => ({ key: `${values.prefix}segment_${i}.ts`, load: async () => body }));
}

let next = 0;
let bytes = 0;
async function worker() {
  while (next < jobs.length) {
    const job = jobs[next++];
    const body = await job.load();
    await client.send(new PutObjectCommand({ Bucket: values.bucket, Key: job.key, Body: body }));
    bytes += body.length;
  }
}
await Promise.all(Array.from({ length: Math.min(concurrency, jobs.length) }, worker));
client.destroy();
agent.destroy();
const seconds = Number(process.hrtime.bigint() - started) / 1e9;
process.stdout.write(`${JSON.stringify({ objects: jobs.length, bytes, seconds })}\n`);
