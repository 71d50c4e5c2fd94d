// The OSS backend against the project's OSS-protocol server on loopback: the conformance suite, plus
// paging, batching, credentials, outages, md5 and usage, and a check of the server's own verifier.

import * as v from 'valibot';
import { POOL_DEFAULTS, StoragePool } from '../../src/pool/pool.js';
import { retrying } from '../../src/layers/index.js';
import { createHash, createHmac, randomBytes } from 'node:crypto';
import http from 'node:http';
import net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { md5FromEtag, OssBackend } from '../../src/backends/oss/index.js';
import { ossOptionsSchema } from '../../src/backends/oss/options.js';
import { isStorageError } from '../../src/errors.js';
import { runConformance } from '../conformance/suite.js';
import { startOssServer, type OssTestServer } from '../support/oss-server.js';

const context = { poolName: 'oss-test', baseDir: process.cwd() };

function makeBackend(server: OssTestServer, extra: Record<string, unknown> = {}): OssBackend {
  return new OssBackend(v.parse(ossOptionsSchema, server.poolOptions(extra)), context);
}

async function caught(promise: Promise<unknown>): Promise<unknown> {
  return promise.then(
    () => undefined,
    (error: unknown) => error,
  );
}

async function listKeys(backend: OssBackend, prefix: string): Promise<string[]> {
  const keys: string[] = [];
  for await (const entry of backend.list(prefix)) keys.push(entry.key);
  return keys.sort();
}

async function writeMany(backend: OssBackend, keys: readonly string[]): Promise<void> {
  for (let i = 0; i < keys.length; i += 100) {
    await Promise.all(keys.slice(i, i + 100).map((key) => backend.write(key, Buffer.from(key))));
  }
}

runConformance('oss', async () => {
  const server = await startOssServer();
  const backend = makeBackend(server, { quotaBytes: 2 ** 40 });
  return {
    backend,
    cleanup: async () => {
      await backend.close();
      await server.close();
    },
  };
});

describe('oss backend', () => {
  let server: OssTestServer;
  let backend: OssBackend;

  beforeAll(async () => {
    server = await startOssServer();
    backend = makeBackend(server);
  });
  afterAll(async () => {
    await backend?.close();
    await server?.close();
  });

  it('lists 2,500 keys completely, over at least 3 list requests', async () => {
    const keys = Array.from({ length: 2500 }, (_, i) => `paged/s/segment_${i}.ts`);
    await writeMany(backend, keys);
    server.resetRequests();
    expect(await listKeys(backend, 'paged/')).toEqual([...keys].sort());
    const lists = server.requests().filter((r) => r.method === 'GET' && r.query['list-type'] === '2');
    expect(lists.length).toBeGreaterThanOrEqual(3);
    for (const request of lists) expect(request.query['max-keys']).toBe('1000');
  });

  it('deletes 2,500 keys with exactly 3 DeleteMultipleObjects requests and leaves nothing', async () => {
    const keys = Array.from({ length: 2500 }, (_, i) => `batch/s/segment_${i}.ts`);
    await writeMany(backend, keys);
    server.resetRequests();
    const result = await backend.deleteMany(keys);
    expect(result.failed).toEqual([]);
    expect(result.deleted.length).toBe(2500);
    const deletes = server.requests().filter((r) => r.method === 'POST' && 'delete' in r.query);
    expect(deletes.length).toBe(3);
    expect(server.requests().length).toBe(3);
    expect(await listKeys(backend, 'batch/')).toEqual([]);
  });

  it('reports invalid keys in deleteMany as failed, without sending them', async () => {
    await backend.write('mixed/ok.ts', Buffer.from('x'));
    const result = await backend.deleteMany(['mixed/ok.ts', '../bad.ts']);
    expect(result.deleted).toEqual(['mixed/ok.ts']);
    expect(result.failed.map((f) => [f.key, (f.error as { code?: string }).code])).toEqual([['../bad.ts', 'InvalidKey']]);
  });

  it('puts a key the server does not confirm as deleted in failed', async () => {
    await writeMany(backend, ['confirm/a.ts', 'confirm/b.ts']);
    server.withholdDeletion('confirm/b.ts');
    const result = await backend.deleteMany(['confirm/a.ts', 'confirm/b.ts']);
    expect(result.deleted).toEqual(['confirm/a.ts']);
    expect(result.failed.map((f) => f.key)).toEqual(['confirm/b.ts']);
    expect(isStorageError(result.failed[0]?.error)).toBe(true);
  });

  it('surfaces a wrong secret as PermissionDenied on write, read and exists, naming no secret', async () => {
    await backend.write('auth/there.ts', Buffer.from('x'));
    const wrongSecret = `wrong-${randomBytes(8).toString('hex')}`;
    const wrong = makeBackend(server, { accessKeySecret: wrongSecret });
    try {
      for (const attempt of [wrong.write('auth/new.ts', Buffer.from('x')), wrong.read('auth/there.ts'), wrong.exists('auth/there.ts')]) {
        const error = await caught(attempt);
        expect(isStorageError(error, 'PermissionDenied'), String(error)).toBe(true);
        expect((error as Error).message).toContain('SignatureDoesNotMatch');
        expect((error as Error).message).not.toContain(wrongSecret);
        expect((error as Error).message).not.toContain(server.accessKeySecret);
      }
      const result = await wrong.deleteMany(['auth/there.ts', 'auth/other.ts']);
      expect(result.deleted).toEqual([]);
      expect(result.failed.map((f) => (f.error as { code?: string }).code)).toEqual(['PermissionDenied', 'PermissionDenied']);
      expect(await backend.exists('auth/there.ts')).toBe(true);
    } finally {
      await wrong.close();
    }
  });

  it('surfaces an unknown access key id as PermissionDenied', async () => {
    const stranger = makeBackend(server, { accessKeyId: 'nobody' });
    const error = await caught(stranger.exists('auth/there.ts'));
    expect(isStorageError(error, 'PermissionDenied'), String(error)).toBe(true);
    expect((error as Error).message).toContain('InvalidAccessKeyId');
    await stranger.close();
  });

  it('throws Unavailable from exists() within 3 s when the server is down, never false', async () => {
    await backend.write('down/here.ts', Buffer.from('x'));
    await server.stop();
    try {
      const started = Date.now();
      const error = await caught(backend.exists('down/here.ts'));
      expect(Date.now() - started).toBeLessThan(3000);
      expect(isStorageError(error, 'Unavailable'), String(error)).toBe(true);
      expect((error as { retryable: boolean }).retryable).toBe(true);
      expect(isStorageError(await caught(backend.exists('down/absent.ts')), 'Unavailable')).toBe(true);
    } finally {
      await server.start();
    }
    // The first request after a restart may meet a keep-alive socket the old server closed: a
    // retryable Unavailable, which the pool's retry layer (not the backend) retries.
    expect(await retrying({ retries: 2, baseDelayMs: 10 }, () => backend.exists('down/here.ts'))).toBe(true);
  });

  it('answers 503 and 500 with retryable errors, which a pool retries (ali-oss alone would not)', async () => {
    await backend.write('retry/obj.ts', Buffer.from('ok'));
    server.failNext(1, 503);
    expect(await caught(backend.read('retry/obj.ts'))).toMatchObject({ code: 'RateLimited', retryable: true });
    server.failNext(1, 500);
    expect(await caught(backend.read('retry/obj.ts'))).toMatchObject({ code: 'Unavailable', retryable: true });
    const pool = new StoragePool({ ...POOL_DEFAULTS, name: 'oss-pool', retries: 2 }, backend);
    server.failNext(2, 503);
    expect((await pool.read('retry/obj.ts')).toString()).toBe('ok');
  });

  it('throws Timeout when the server accepts but never answers', async () => {
    const sockets = new Set<net.Socket>();
    const silent = net.createServer((socket) => sockets.add(socket));
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    const port = (silent.address() as net.AddressInfo).port;
    const slow = makeBackend(server, { endpoint: `http://127.0.0.1:${port}`, timeoutMs: 300 });
    try {
      const started = Date.now();
      const error = await caught(slow.exists('any/key.ts'));
      expect(isStorageError(error, 'Timeout'), String(error)).toBe(true);
      expect(Date.now() - started).toBeLessThan(3000);
    } finally {
      await slow.close();
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => silent.close(() => resolve()));
    }
  });

  it('reports the real md5 from stat and from list', async () => {
    const data = randomBytes(5000);
    const expected = createHash('md5').update(data).digest('hex');
    await backend.write('md5/obj.ts', data);
    expect((await backend.stat('md5/obj.ts')).md5).toBe(expected);
    const listed = [];
    for await (const entry of backend.list('md5/')) listed.push(entry);
    expect(listed.map((e) => e.md5)).toEqual([expected]);
  });

  it('takes an md5 only from an ETag that is one', () => {
    expect(md5FromEtag('"5B3C1A2E053D763E1B002CC607C5A0FE"', 'Normal')).toBe('5b3c1a2e053d763e1b002cc607c5a0fe');
    expect(md5FromEtag('"5b3c1a2e053d763e1b002cc607c5a0fe"', undefined)).toBe('5b3c1a2e053d763e1b002cc607c5a0fe');
    expect(md5FromEtag('"5B3C1A2E053D763E1B002CC607C5A0FE-3"', 'Multipart')).toBeUndefined();
    expect(md5FromEtag('"5B3C1A2E053D763E1B002CC607C5A0FE"', 'Appendable')).toBeUndefined();
    expect(md5FromEtag('"abc"', 'Normal')).toBeUndefined();
    expect(md5FromEtag(undefined, 'Normal')).toBeUndefined();
  });

  it('never lists keys under the reserved prefix', async () => {
    await backend.write('.flux-storage/probe', Buffer.from('p'));
    expect((await listKeys(backend, '')).some((key) => key.startsWith('.flux-storage/'))).toBe(false);
  });

  it('counts usage by listing, caches it for a minute, and reports the quota as total', async () => {
    const fresh = await startOssServer();
    const counted = makeBackend(fresh, { quotaBytes: 1_000_000 });
    try {
      expect(counted.capabilities.usage).toBe(true);
      await counted.write('u/a.ts', Buffer.alloc(1000));
      await counted.write('u/b.ts', Buffer.alloc(234));
      await counted.write('.flux-storage/probe', Buffer.alloc(10));
      expect(await counted.usage()).toEqual({ usedBytes: 1244, totalBytes: 1_000_000 });
      fresh.resetRequests();
      await counted.write('u/c.ts', Buffer.alloc(100));
      expect(await counted.usage()).toEqual({ usedBytes: 1244, totalBytes: 1_000_000 });
      expect(fresh.requests().filter((r) => r.method === 'GET').length).toBe(0);
      expect(backend.capabilities.usage).toBe(false);
      expect(await backend.usage()).toEqual({ usedBytes: null, totalBytes: null });
    } finally {
      await counted.close();
      await fresh.close();
    }
  });

  it('close() is safe twice, and a closed backend refuses work', async () => {
    const closing = makeBackend(server);
    await closing.write('close/a.ts', Buffer.from('x'));
    await closing.close();
    await closing.close();
    expect(isStorageError(await caught(closing.read('close/a.ts')), 'Unavailable')).toBe(true);
  });
});

describe('OSS test server signature verifier', () => {
  let server: OssTestServer;
  beforeAll(async () => {
    server = await startOssServer();
  });
  afterAll(async () => {
    await server?.close();
  });

  /** Sends a request signed by hand over the literal StringToSign given. */
  function send(options: {
    method: string;
    path: string;
    headers: Record<string, string>;
    toSign: string;
    body?: Buffer;
    secret?: string;
  }): Promise<{ status: number; body: string }> {
    const signature = createHmac('sha1', options.secret ?? server.accessKeySecret).update(options.toSign, 'utf8').digest('base64');
    return new Promise((resolve, reject) => {
      const req = http.request(
        {
          host: '127.0.0.1',
          port: server.port,
          method: options.method,
          path: options.path,
          agent: false,
          headers: {
            ...options.headers,
            Host: `${server.bucket}.oss-cn-hangzhou.aliyuncs.com`,
            Authorization: `OSS ${server.accessKeyId}:${signature}`,
          },
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString() }));
        },
      );
      req.on('error', reject);
      req.end(options.body);
    });
  }

  it('accepts a PUT signed by hand, with x-oss headers sorted and trimmed and the key decoded', async () => {
    const date = new Date().toUTCString();
    const body = Buffer.from('hand made');
    const contentMd5 = createHash('md5').update(body).digest('base64');
    const headers = { 'Content-Type': 'text/plain', 'Content-MD5': contentMd5, 'x-oss-date': date, 'X-OSS-Meta-Z': '  last ', 'x-oss-meta-a': 'first' };
    const toSign = `PUT\n${contentMd5}\ntext/plain\n${date}\nx-oss-date:${date}\nx-oss-meta-a:first\nx-oss-meta-z:last\n/${server.bucket}/hand/a b+直播.ts`;
    const path = `/hand/a%20b%2B${encodeURIComponent('直播')}.ts`;
    expect((await send({ method: 'PUT', path, headers, toSign, body })).status).toBe(200);

    const wrong = await send({ method: 'PUT', path, headers, toSign: toSign.replace('a b+', 'a+b+'), body });
    expect(wrong.status).toBe(403);
    expect(wrong.body).toContain('<Code>SignatureDoesNotMatch</Code>');
    const badSecret = await send({ method: 'PUT', path, headers, toSign, body, secret: 'not-the-secret' });
    expect(badSecret.status).toBe(403);
    const badMd5 = await send({
      method: 'PUT',
      path,
      headers: { ...headers, 'Content-MD5': createHash('md5').update('other').digest('base64') },
      toSign: toSign.replace(contentMd5, createHash('md5').update('other').digest('base64')),
      body,
    });
    expect(badMd5.status).toBe(400);
    expect(badMd5.body).toContain('<Code>InvalidDigest</Code>');
  });

  it('signs whitelisted sub-resources only, sorted, and rejects a skewed date', async () => {
    const date = new Date().toUTCString();
    const headers = { 'x-oss-date': date };
    const base = `GET\n\n\n${date}\nx-oss-date:${date}\n/${server.bucket}/`;
    const path = '/?list-type=2&prefix=hand%2F&max-keys=10&continuation-token=aGFuZC8';
    expect((await send({ method: 'GET', path, headers, toSign: `${base}?continuation-token=aGFuZC8` })).status).toBe(200);
    // The token is signed: the resource without it does not verify.
    expect((await send({ method: 'GET', path, headers, toSign: base })).status).toBe(403);
    // prefix and max-keys are not signed: changing them keeps the same signature valid.
    const other = path.replace('max-keys=10', 'max-keys=20');
    expect((await send({ method: 'GET', path: other, headers, toSign: `${base}?continuation-token=aGFuZC8` })).status).toBe(200);

    const old = new Date(Date.now() - 20 * 60 * 1000).toUTCString();
    const skewed = await send({
      method: 'GET',
      path: '/?list-type=2',
      headers: { 'x-oss-date': old },
      toSign: `GET\n\n\n${old}\nx-oss-date:${old}\n/${server.bucket}/`,
    });
    expect(skewed.status).toBe(403);
    expect(skewed.body).toContain('RequestTimeTooSkewed');
  });

  it('answers a HEAD error without a body, with the error document in x-oss-err', async () => {
    const date = new Date().toUTCString();
    const res = await new Promise<http.IncomingMessage>((resolve, reject) => {
      http
        .request({
          host: '127.0.0.1',
          port: server.port,
          method: 'HEAD',
          path: '/x.ts',
          agent: false,
          headers: { Host: `${server.bucket}.oss-cn-hangzhou.aliyuncs.com`, 'x-oss-date': date, Authorization: `OSS ${server.accessKeyId}:AAAA` },
        })
        .on('response', (r) => {
          r.resume();
          resolve(r);
        })
        .on('error', reject)
        .end();
    });
    expect(res.statusCode).toBe(403);
    expect(Buffer.from(String(res.headers['x-oss-err']), 'base64').toString()).toContain('<Code>SignatureDoesNotMatch</Code>');
  });
});
