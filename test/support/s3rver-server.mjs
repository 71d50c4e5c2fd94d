#!/usr/bin/env node
// Runs one s3rver 3.7.1 on 127.0.0.1 in its own process, for the tests (test/support/s3rver.ts) and
// the benchmarks. Plain .mjs so that plain `node` can start it. Start it with
// `node --openssl-legacy-provider`: s3rver's continuation tokens use DES, and without the legacy
// provider every paged (truncated) listing answers 500.
//
//   node --openssl-legacy-provider test/support/s3rver-server.mjs \
//     --directory DIR [--port 0] [--bucket NAME]... [--request-log FILE] [--check-content-md5]
//
// --check-content-md5: a PUT whose body does not match its Content-MD5 is refused with 400
// BadDigest before anything is stored, as S3 does (s3rver itself ignores the header). The tests
// turn it on; the benchmarks leave it off, since real S3 spends its own CPU on that check.
//
// Prints one JSON line `{"event":"listening","address":"127.0.0.1","port":N}` on stdout once it
// serves. Every HTTP request is logged as one JSON line `{"method","path","query","contentMd5",
// "payloadHash"}` (the last two: the Content-MD5 and x-amz-content-sha256 headers), appended to
// --request-log FILE (synchronously, before the request is handled, so a client that has its answer
// finds the line already there) or, without that option, printed on stdout.

import { createHash } from 'node:crypto';
import { appendFileSync, readdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { mkdir, rename, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { parseArgs } from 'node:util';

// S3 lists keys in UTF-8 byte order; s3rver walks its folders in readdir order, which puts
// `hls/cam1/...` before `hls/cam1-a/...` (S3: `-` before `/`) and then loses keys across pages.
// Its folder walk is replaced, before s3rver loads it, by one in key order: a folder sorts as its
// name and "/", an object file as its key (the name without s3rver's suffix).
const s3rverUtils = createRequire(import.meta.url)('s3rver/lib/utils.js');
const OBJECT_FILE_SUFFIX = /\._S3rver_[A-Za-z0-9_.-]+$/;
s3rverUtils.walk = function* walk(dir, recurseFilter) {
  const entries = readdirSync(dir, { withFileTypes: true }).map((entry) => {
    const folder = entry.isDirectory();
    return { filePath: path.posix.join(dir, entry.name), folder, order: Buffer.from(folder ? `${entry.name}/` : entry.name.replace(OBJECT_FILE_SUFFIX, '')) };
  });
  entries.sort((a, b) => Buffer.compare(a.order, b.order));
  for (const { filePath, folder } of entries) {
    if (!folder) yield filePath;
    else if (!recurseFilter || recurseFilter(filePath)) yield* walk(filePath, recurseFilter);
  }
};
const { default: S3rver } = await import('s3rver');

const { values } = parseArgs({
  options: {
    directory: { type: 'string' },
    port: { type: 'string', default: '0' },
    bucket: { type: 'string', multiple: true, default: [] },
    'request-log': { type: 'string' },
    'check-content-md5': { type: 'boolean', default: false },
  },
  strict: true,
});

if (values.directory === undefined) {
  process.stderr.write('s3rver-server: --directory is required\n');
  process.exit(2);
}

const requestLog = values['request-log'];
function logRequest(req) {
  const url = req.url ?? '';
  const mark = url.indexOf('?');
  const line = `${JSON.stringify({
    method: req.method,
    path: mark === -1 ? url : url.slice(0, mark),
    query: mark === -1 ? '' : url.slice(mark + 1),
    contentMd5: req.headers['content-md5'],
    payloadHash: req.headers['x-amz-content-sha256'],
  })}\n`;
  if (requestLog === undefined) process.stdout.write(line);
  else appendFileSync(requestLog, line);
}

/**
 * Replaces the store's putObject: s3rver 3.7.1 resolves it (and so answers the PUT) as soon as the body
 * is handed to a write stream, before the file is written, so a client could read a short object
 * right after a successful PUT. Here the body is written whole to a temporary file (not listed: its
 * name does not end in the store's object suffix), renamed over the object, and its metadata written,
 * all before the answer.
 */
function durablePutObject(store) {
  let sequence = 0;
  store.putObject = async (object) => {
    const body = Buffer.isBuffer(object.content) ? object.content : Buffer.concat(await object.content.toArray());
    const objectPath = store.getResourcePath(object.bucket, object.key, 'object');
    await mkdir(path.dirname(objectPath), { recursive: true });
    const temporary = `${objectPath}.${process.pid}.${(sequence += 1)}.partial`;
    await writeFile(temporary, body);
    await rename(temporary, objectPath);
    const md5 = createHash('md5').update(body).digest('hex');
    await store.putMetadata(object.bucket, object.key, object.metadata, md5);
    return { size: body.length, md5 };
  };
}

/** Wraps the store's putObject: the body (s3rver hands it the request stream) is read whole first. */
function checkContentMd5(store) {
  const S3Error = createRequire(import.meta.url)('s3rver/lib/models/error.js');
  const putObject = store.putObject.bind(store);
  store.putObject = async (object) => {
    const given = object.content?.headers?.['content-md5'];
    if (given === undefined) return putObject(object);
    const chunks = [];
    for await (const chunk of object.content) chunks.push(chunk);
    const body = Buffer.concat(chunks);
    if (createHash('md5').update(body).digest('base64') !== given) {
      throw new S3Error('BadDigest', 'The Content-MD5 you specified did not match what we received.');
    }
    object.content = body;
    return putObject(object);
  };
}

await mkdir(values.directory, { recursive: true });
const server = new S3rver({
  address: '127.0.0.1',
  port: Number(values.port),
  directory: values.directory,
  silent: true,
  configureBuckets: values.bucket.map((name) => ({ name })),
});
durablePutObject(server.store);
if (values['check-content-md5']) checkContentMd5(server.store);
const address = await server.run();
// prependListener: the line is written before s3rver sees the request, so before any answer.
server.httpServer.prependListener('request', logRequest);
process.stdout.write(`${JSON.stringify({ event: 'listening', address: address.address, port: address.port })}\n`);

// Never outlive the process that started us: when it dies (even by SIGKILL) we are re-parented.
const parentPid = process.ppid;
setInterval(() => {
  if (process.ppid !== parentPid) process.exit(0);
}, 500).unref();

// SIGTERM stops the way a server going down for maintenance does: no new connection is accepted,
// idle keep-alive sockets are closed, and requests already being written finish (a SIGKILL mid-PUT
// leaves s3rver's store with an object and no metadata, and every later listing answers 500).
process.on('SIGTERM', () => {
  server.httpServer.close(() => process.exit(0));
  // A keep-alive socket becomes idle once its request is answered: close it then.
  setInterval(() => server.httpServer.closeIdleConnections(), 10);
  server.httpServer.closeIdleConnections();
  setTimeout(() => process.exit(0), 3000).unref();
});
for (const signal of ['SIGINT', 'SIGHUP']) process.on(signal, () => process.exit(0));
