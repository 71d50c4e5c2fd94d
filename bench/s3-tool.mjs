#!/usr/bin/env node
// Bucket chores for the benchmarks on a real S3 server (Ceph RGW), where the state cannot be reset
// by copying files as with s3rver: fill a bucket with synthetic segments (and playlists), count or
// empty a prefix, and the bare reference for cleanup (list, then batched DeleteObjects).
//
//   node bench/s3-tool.mjs --endpoint URL --bucket B <command> [options]
//     fill   --prefix hls/ --streams N --per M [--first K] [--size BYTES] [--playlist-last L]
//            keys <prefix><stream>/segment_<id>.ts for id K..K+M-1 (streams s0..s<N-1>, or --stream
//            NAME for one); with --playlist-last, an index.m3u8 per stream naming its last L segments
//     advance --prefix hls/ --streams N --state FILE [--size BYTES] [--playlist-last L]
//            one new segment per stream (id from FILE, then FILE holds the next id), and its
//            playlist naming the last L segments: what a producer adds between two cleanup runs
//     count  --prefix P           prints the number of objects under P
//     empty  --prefix P           deletes every object under P (list + DeleteObjects of 1,000)
//     delete-batched --prefix P   the same, printed as the cleanup reference
// Credentials from AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY. Prints one JSON line.

import { readFileSync, writeFileSync } from 'node:fs';
import { Agent } from 'node:http';
import { parseArgs } from 'node:util';
import { DeleteObjectsCommand, ListObjectsV2Command, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';

const { values, positionals } = parseArgs({
  options: {
    endpoint: { type: 'string' },
    bucket: { type: 'string' },
    prefix: { type: 'string', default: '' },
    streams: { type: 'string', default: '1' },
    stream: { type: 'string' },
    per: { type: 'string', default: '0' },
    first: { type: 'string', default: '0' },
    size: { type: 'string', default: '1024' },
    'playlist-last': { type: 'string' },
    concurrency: { type: 'string', default: '32' },
    state: { type: 'string' },
  },
  allowPositionals: true,
  strict: true,
});
const command = positionals[0];
if (!values.endpoint || !values.bucket || !['fill', 'advance', 'count', 'empty', 'delete-batched'].includes(command)) {
  process.stderr.write('usage: s3-tool.mjs --endpoint URL --bucket B (fill|advance|count|empty|delete-batched) [options]\n');
  process.exit(2);
}
const started = process.hrtime.bigint();
const concurrency = Number(values.concurrency);
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
const Bucket = values.bucket;

async function* listKeys(prefix) {
  let token;
  do {
    const page = await client.send(new ListObjectsV2Command({ Bucket, Prefix: prefix || undefined, ContinuationToken: token }));
    for (const entry of page.Contents ?? []) yield entry.Key;
    token = page.IsTruncated ? page.NextContinuationToken : undefined;
  } while (token);
}

async function pool(jobs, run) {
  let next = 0;
  await Promise.all(Array.from({ length: Math.min(concurrency, jobs.length) }, async () => {
    while (next < jobs.length) await run(jobs[next++]);
  }));
}

let result;
if (command === 'fill' || command === 'advance') {
  const names = values.stream ? [values.stream] : Array.from({ length: Number(values.streams) }, (_, i) => `s${i}`);
  let first = Number(values.first);
  let per = Number(values.per);
  if (command === 'advance') {
    if (!values.state) throw new Error('advance needs --state FILE');
    first = Number(readFileSync(values.state, 'utf8'));
    per = 1;
    writeFileSync(values.state, String(first + 1));
  }
  const body = Buffer.alloc(Number(values.size), 0x47);
  const jobs = [];
  for (const stream of names) {
    for (let id = first; id < first + per; id++) jobs.push({ Key: `${values.prefix}${stream}/segment_${id}.ts`, Body: body });
    if (values['playlist-last']) {
      const last = Number(values['playlist-last']);
      const lines = ['#EXTM3U', '#EXT-X-VERSION:3', '#EXT-X-TARGETDURATION:2', `#EXT-X-MEDIA-SEQUENCE:${first + per - last}`];
      for (let id = first + per - last; id < first + per; id++) lines.push('#EXTINF:2.0,', `segment_${id}.ts`);
      jobs.push({ Key: `${values.prefix}${stream}/index.m3u8`, Body: Buffer.from(`${lines.join('\n')}\n`) });
    }
  }
  await pool(jobs, (job) => client.send(new PutObjectCommand({ Bucket, ...job })));
  result = { objects: jobs.length };
} else if (command === 'count') {
  let n = 0;
  for await (const _ of listKeys(values.prefix)) n++;
  result = { objects: n };
} else {
  const keys = [];
  for await (const key of listKeys(values.prefix)) keys.push(key);
  const batches = [];
  for (let i = 0; i < keys.length; i += 1000) batches.push(keys.slice(i, i + 1000));
  let next = 0;
  await Promise.all(Array.from({ length: Math.min(4, batches.length) }, async () => {
    while (next < batches.length) {
      const batch = batches[next++];
      const answer = await client.send(new DeleteObjectsCommand({ Bucket, Delete: { Objects: batch.map((Key) => ({ Key })), Quiet: true } }));
      if (answer.Errors?.length) throw new Error(`DeleteObjects: ${answer.Errors.length} errors, first ${answer.Errors[0].Code}`);
    }
  }));
  result = { objects: keys.length, requests: batches.length };
}
client.destroy();
agent.destroy();
process.stdout.write(`${JSON.stringify({ ...result, seconds: Number(process.hrtime.bigint() - started) / 1e9 })}\n`);
