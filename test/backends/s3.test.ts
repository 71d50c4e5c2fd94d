// The S3 backend against two servers: s3rver (a fake that checks little) and Ceph RGW (a real S3
// server that verifies signatures and Content-MD5): the conformance suite on each, plus paging,
// batching (proved by counting requests), wrong credentials and digests, md5, content types, usage
// and a stopped endpoint on each, then failures of an unreachable or silent endpoint.

import * as v from 'valibot';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { createServer as createHttpServer, type Server } from 'node:http';
import { connect, createServer as createTcpServer, type Socket } from 'node:net';
import { createInterface } from 'node:readline';
import { HeadObjectCommand, ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';
import pLimit from 'p-limit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { md5FromEtag, S3Backend } from '../../src/backends/s3/index.js';
import { readListPage } from '../../src/backends/s3/list-page.js';
import { redactSecrets as redact } from '../../src/redact.js';
import { s3OptionsSchema } from '../../src/backends/s3/options.js';
import type { StorageBackend } from '../../src/backends/types.js';
import { StorageError } from '../../src/errors.js';
import { runConformance } from '../conformance/suite.js';
import { describeWithCeph, startRgwServer } from '../support/ceph.js';
import { startS3Server, type S3TestServer } from '../support/s3rver.js';

/** The servers every S3 case runs on; RGW's describe fails on CI when Ceph is not installed. */
const SERVERS = [
  { kind: 's3rver', label: 's3rver', start: startS3Server, describe: (name: string, body: () => void) => describe(name, body) },
  { kind: 'rgw', label: 'Ceph RGW', start: startRgwServer, describe: describeWithCeph },
] as const;

function makeBackend(server: S3TestServer, extra: Record<string, unknown> = {}): S3Backend {
  return new S3Backend(v.parse(s3OptionsSchema, server.poolOptions(extra)));
}

/** A backend aimed at 127.0.0.1:port, where no s3rver runs. */
function backendAt(port: number, extra: Record<string, unknown> = {}): S3Backend {
  return new S3Backend(
    v.parse(s3OptionsSchema, {
      type: 's3',
      bucket: 'nowhere',
      endpoint: `http://127.0.0.1:${port}`,
      forcePathStyle: true,
      accessKeyId: 'S3RVER',
      secretAccessKey: 'S3RVER',
      checksums: 'when_required',
      ...extra,
    }),
  );
}

async function collectKeys(backend: StorageBackend, prefix: string): Promise<string[]> {
  const keys: string[] = [];
  for await (const entry of backend.list(prefix)) keys.push(entry.key);
  return keys.sort();
}

/** How a promise settles, and how long it took. */
async function timed(promise: Promise<unknown>): Promise<{ error: unknown; ms: number }> {
  const start = Date.now();
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  return { error, ms: Date.now() - start };
}

async function freePort(): Promise<number> {
  const server = createTcpServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

async function listen(server: Server | ReturnType<typeof createTcpServer>): Promise<number> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return (server.address() as { port: number }).port;
}

const conformanceFixture = (start: () => Promise<S3TestServer>) => async () => {
  const server = await start();
  const backend = makeBackend(server);
  return {
    backend,
    cleanup: async () => {
      await backend.close();
      await server.close();
    },
  };
};
runConformance('s3', conformanceFixture(startS3Server));
describeWithCeph('s3 on Ceph RGW', () => runConformance('s3 (Ceph RGW)', conformanceFixture(startRgwServer)));

for (const { kind, label, start, describe: describeOn } of SERVERS) {
  describeOn(`s3 backend against ${label}`, () => {
    let server: S3TestServer;
    let backend: S3Backend;
    beforeAll(async () => {
      server = await start();
      backend = makeBackend(server);
    });
    afterAll(async () => {
      await backend?.close();
      await server?.close();
    });

    it('lists 2,500 keys completely over several pages, then deletes them in exactly 3 DeleteObjects', async () => {
      // Five folders, because s3rver reads the whole folder on each delete. One key stays in each:
      // s3rver answers 500 when concurrent deletes empty a folder (both try to remove it), and the
      // SDK's retry of that would spoil the request count.
      const keys = Array.from({ length: 2500 }, (_, i) => `big/p${i % 5}/segment_${i}.ts`);
      const kept = Array.from({ length: 5 }, (_, i) => `big/p${i}/kept.ts`);
      const limit = pLimit(32);
      await Promise.all([...keys, ...kept].map((key) => limit(() => backend.write(key, Buffer.from(key)))));

      await server.resetRequests();
      expect(await collectKeys(backend, 'big/')).toEqual([...keys, ...kept].sort());
      const listings = (await server.requests()).filter((r) => r.method === 'GET' && /(^|&)list-type=2(&|$)/.test(r.query));
      expect(listings.length).toBeGreaterThanOrEqual(3);

      await server.resetRequests();
      const result = await backend.deleteMany(keys);
      expect(result.failed).toEqual([]);
      expect(result.deleted.length).toBe(2500);
      const deletes = (await server.requests()).filter((r) => r.method === 'POST' && /(^|&)delete(=|&|$)/.test(r.query));
      expect(deletes.length).toBe(3);
      expect(await collectKeys(backend, 'big/')).toEqual([...kept].sort());
    }, 60_000);

    it('a burst of calls beyond maxSockets waits its turn instead of timing out in the agent queue', async () => {
      const small = makeBackend(server, { maxSockets: 4, connectTimeoutMs: 300, requestTimeoutMs: 2000 });
      const keys = Array.from({ length: 400 }, (_, i) => `burst/p${i % 4}/segment_${i}.ts`);
      // The last call waits for 99 round trips of its socket, each several file writes at s3rver:
      // far longer than the 300 ms connect timeout that a queued call used to be charged with.
      await Promise.all(keys.map((key) => small.write(key, Buffer.from(key))));
      expect(await collectKeys(small, 'burst/')).toHaveLength(400);
      expect((await small.deleteMany(keys)).failed).toEqual([]);
      await small.close();
    });

    it('reports in failed, without throwing, the keys it cannot even try', async () => {
      const result = await backend.deleteMany(['ok/a.ts', '../bad.ts']);
      expect(result.deleted).toEqual(['ok/a.ts']);
      expect(result.failed.map((f) => [f.key, (f.error as StorageError).code])).toEqual([['../bad.ts', 'InvalidKey']]);
    });

    it('stat and list report the real md5 of a single-part object', async () => {
      const data = randomBytes(5000);
      await backend.write('md5/obj.ts', data);
      const md5 = createHash('md5').update(data).digest('hex');
      expect((await backend.stat('md5/obj.ts')).md5).toBe(md5);
      const listed: (string | undefined)[] = [];
      for await (const entry of backend.list('md5/')) listed.push(entry.md5);
      expect(listed).toEqual([md5]);
      // A multipart ETag is not the md5 of the content.
      expect(md5FromEtag(`"${md5}-3"`)).toBeUndefined();
      expect(md5FromEtag(`"${md5.toUpperCase()}"`)).toBe(md5);
    });

    // Only s3rver's request log has the headers (RGW's access log has none).
    if (kind === 's3rver') {
      it('a write told the md5 sends it as Content-MD5 and leaves the payload unsigned; one not told signs it', async () => {
        const data = randomBytes(2048);
        const md5 = createHash('md5').update(data).digest('hex');
        await server.resetRequests();
        await backend.write('md5opt/told.ts', data, { md5 });
        await backend.write('md5opt/untold.ts', data);
        const puts = (await server.requests()).filter((r) => r.method === 'PUT');
        expect(puts.map((r) => [r.path.split('/').pop(), r.contentMd5, r.payloadHash])).toEqual([
          ['told.ts', Buffer.from(md5, 'hex').toString('base64'), 'UNSIGNED-PAYLOAD'],
          ['untold.ts', undefined, createHash('sha256').update(data).digest('hex')],
        ]);
      });
    }

    it('stores segments and playlists with their HLS content types', async () => {
      await backend.write('ct/segment_1.ts', Buffer.from('ts'));
      await backend.write('ct/index.m3u8', Buffer.from('#EXTM3U'));
      const raw = new S3Client({
        endpoint: server.endpoint,
        forcePathStyle: true,
        region: 'us-east-1',
        credentials: { accessKeyId: server.accessKeyId, secretAccessKey: server.secretAccessKey },
      });
      try {
        const head = (Key: string) => raw.send(new HeadObjectCommand({ Bucket: server.bucket, Key }));
        expect((await head('ct/segment_1.ts')).ContentType).toBe('video/mp2t');
        expect((await head('ct/index.m3u8')).ContentType).toBe('application/vnd.apple.mpegurl');
      } finally {
        raw.destroy();
      }
    });

    it("reads each listing page as the SDK reads it (odd keys, sizes, dates, md5), over pages, and the server's pages take the fast path", async () => {
      const odd = ["a b+c=d&e'f.ts", 'q"uote<angle>&amp;.ts', '直播-流/segment_1.ts', 'emoji-😀.ts', '%41%2F.ts', 'semi;colon#hash?.ts'];
      const keys = [...odd.map((k) => `pages/${k}`), ...Array.from({ length: 1010 }, (_, i) => `pages/s/segment_${i}.ts`)];
      const limit = pLimit(32);
      await Promise.all(keys.map((key, i) => limit(() => backend.write(key, Buffer.alloc(i % 7, 0x47)))));
      const raw = new S3Client({
        endpoint: server.endpoint,
        forcePathStyle: true,
        region: 'us-east-1',
        credentials: { accessKeyId: server.accessKeyId, secretAccessKey: server.secretAccessKey },
      });
      try {
        // The SDK's own reading, page by page, with each page's bytes kept for the fast reader.
        const expected: { key: string; size: number; modified: number; md5: string | undefined }[] = [];
        const bodies: string[] = [];
        let token: string | undefined;
        do {
          const command = new ListObjectsV2Command({ Bucket: server.bucket, Prefix: 'pages/', ContinuationToken: token });
          command.middlewareStack.add(
            (next) => async (args) => {
              const answer = await next(args);
              const response = answer.response as { body: AsyncIterable<Uint8Array> | Uint8Array };
              const chunks: Buffer[] = [];
              for await (const chunk of response.body as AsyncIterable<Uint8Array>) chunks.push(Buffer.from(chunk));
              const bytes = Buffer.concat(chunks);
              bodies.push(bytes.toString('utf8'));
              response.body = bytes;
              return answer;
            },
            { step: 'deserialize', priority: 'low', name: 'keepBody' },
          );
          const page = await raw.send(command);
          for (const c of page.Contents ?? []) expected.push({ key: c.Key!, size: c.Size ?? 0, modified: c.LastModified!.getTime(), md5: md5FromEtag(c.ETag) });
          token = page.IsTruncated === true ? page.NextContinuationToken : undefined;
        } while (token !== undefined);
        expect(bodies.length).toBeGreaterThanOrEqual(2);
        expect(expected.map((e) => e.key).sort()).toEqual([...keys].sort());
        // Every page this server writes is read by the fast reader, to the same entries.
        const fast = bodies.map((body) => readListPage(body));
        expect(fast.every((page) => page !== undefined)).toBe(true);
        const fastEntries = fast.flatMap((page) => page!.objects.map((o) => ({ key: o.key, size: o.size, modified: o.modified.getTime(), md5: md5FromEtag(o.etag) })));
        expect(fastEntries).toEqual(expected);
        // And the backend's listing (fast reader, next page asked for ahead) is the same, in order.
        const listed: typeof expected = [];
        for await (const info of backend.list('pages/')) listed.push({ key: info.key, size: info.size, modified: info.modified.getTime(), md5: info.md5 });
        expect(listed).toEqual(expected);
        // A reader that stops after the first entry leaves no request behind that fails later.
        for await (const info of backend.list('pages/')) {
          expect(info.key).toBe(expected[0]!.key);
          break;
        }
        expect((await backend.deleteMany(keys)).failed).toEqual([]);
      } finally {
        raw.destroy();
      }
    }, 240_000);

    it('does not list reserved keys from the top, but lists them under their own prefix', async () => {
      await backend.write('.flux-storage/probe', Buffer.from('p'));
      expect(await collectKeys(backend, '')).not.toContain('.flux-storage/probe');
      expect(await collectKeys(backend, '.flux-storage/')).toEqual(['.flux-storage/probe']);
    });

    it('reports a missing bucket as Unavailable, never as a missing object', async () => {
      const other = makeBackend(server, { bucket: 'no-such-bucket' });
      await expect(other.read('a/b.ts')).rejects.toMatchObject({ code: 'Unavailable', retryable: false });
      await expect(collectKeys(other, '')).rejects.toMatchObject({ code: 'Unavailable' });
      await other.close();
    });
  });

  describeOn(`s3 backend usage on ${label}`, () => {
    let server: S3TestServer;
    beforeAll(async () => {
      server = await start();
    });
    afterAll(() => server?.close());

    it('counts used bytes of the whole bucket by listing, cached, against quotaBytes', async () => {
      const backend = makeBackend(server, { quotaBytes: 1_000_000 });
      expect(backend.capabilities.usage).toBe(true);
      await backend.write('u/a.ts', Buffer.alloc(100));
      await backend.write('u/b/c.ts', Buffer.alloc(200));
      await backend.write('.flux-storage/probe', Buffer.alloc(50));
      expect(await backend.usage()).toEqual({ usedBytes: 350, totalBytes: 1_000_000 });
      await server.resetRequests();
      await backend.write('u/d.ts', Buffer.alloc(1000));
      expect(await backend.usage()).toEqual({ usedBytes: 350, totalBytes: 1_000_000 });
      expect((await server.requests()).filter((r) => r.method === 'GET').length).toBe(0);
      await backend.close();

      const fresh = makeBackend(server, { quotaBytes: 1_000_000 });
      expect((await fresh.usage()).usedBytes).toBe(1350);
      await fresh.close();
    });

    it('reports nulls without quotaBytes', async () => {
      const backend = makeBackend(server);
      expect(backend.capabilities.usage).toBe(false);
      expect(await backend.usage()).toEqual({ usedBytes: null, totalBytes: null });
      await backend.close();
    });
  });

  describeOn(`s3 backend checks on ${label}`, () => {
    let server: S3TestServer;
    let backend: S3Backend;
    beforeAll(async () => {
      server = await start();
      backend = makeBackend(server);
    });
    afterAll(async () => {
      await backend?.close();
      await server?.close();
    });

    it("with the SDK's default checksums (when_supported) a write and a read keep the bytes intact", async () => {
      const defaults = makeBackend(server, { checksums: 'when_supported' });
      try {
        const data = randomBytes(70_000);
        await defaults.write('checksums/a.ts', data);
        await defaults.write('checksums/b.ts', data, { md5: createHash('md5').update(data).digest('hex') });
        expect((await defaults.read('checksums/a.ts')).equals(data)).toBe(true);
        expect((await backend.read('checksums/b.ts')).equals(data)).toBe(true);
      } finally {
        await defaults.close();
      }
    });

    it('a write whose Content-MD5 does not match its body is refused as Corrupt, the old object kept', async () => {
      await backend.write('digest/a.ts', Buffer.from('old'));
      const wrong = createHash('md5').update('something else').digest('hex');
      await expect(backend.write('digest/a.ts', randomBytes(4096), { md5: wrong })).rejects.toMatchObject({ code: 'Corrupt', retryable: false });
      expect((await backend.read('digest/a.ts')).toString()).toBe('old');
    });

    // s3rver verifies no signature: a wrong secret is only refused by a real server.
    if (kind === 'rgw') {
      it('a wrong secret is refused as PermissionDenied on every operation, nothing stored, the secret never shown', async () => {
        const secret = 'wrong-secret-do-not-print';
        const wrong = makeBackend(server, { secretAccessKey: secret });
        try {
          const attempts = [() => wrong.write('auth/a.ts', Buffer.from('a')), () => wrong.read('auth/a.ts'), () => wrong.exists('auth/a.ts'), () => collectKeys(wrong, 'auth/')];
          for (const attempt of attempts) {
            const { error } = await timed(attempt());
            expect(error).toBeInstanceOf(StorageError);
            expect((error as StorageError).code).toBe('PermissionDenied');
            expect((error as StorageError).retryable).toBe(false);
            expect((error as StorageError).message).not.toContain(secret);
          }
          const result = await wrong.deleteMany(['auth/a.ts']);
          expect(result.failed.map((f) => (f.error as StorageError).code)).toEqual(['PermissionDenied']);
          expect(await backend.exists('auth/a.ts')).toBe(false);
        } finally {
          await wrong.close();
        }
      });
    }

    it('exists() on a stopped server throws Unavailable quickly, and works again after a restart', async () => {
      const own = makeBackend(server);
      try {
        await own.write('down/a.ts', Buffer.from('a'));
        expect(await own.exists('down/a.ts')).toBe(true);
        await server.stop();

        const { error, ms } = await timed(own.exists('down/a.ts'));
        expect(error).toBeInstanceOf(StorageError);
        expect((error as StorageError).code).toBe('Unavailable');
        expect((error as StorageError).retryable).toBe(true);
        expect((error as StorageError).message).not.toContain(server.secretAccessKey);
        expect(ms).toBeLessThan(3000);

        const result = await own.deleteMany(['down/a.ts', 'down/b.ts']);
        expect(result.deleted).toEqual([]);
        expect(result.failed.map((f) => [f.key, (f.error as StorageError).code])).toEqual([
          ['down/a.ts', 'Unavailable'],
          ['down/b.ts', 'Unavailable'],
        ]);

        await server.start();
        expect(await own.exists('down/a.ts')).toBe(true);
        expect((await own.read('down/a.ts')).toString()).toBe('a');
      } finally {
        await own.close();
      }
    });
  });
}

describe('s3 backend when the endpoint fails', () => {
  it('a read from a port where nothing listens fails Unavailable within 3 s', async () => {
    const backend = backendAt(await freePort());
    const { error, ms } = await timed(backend.read('a/b.ts'));
    expect((error as StorageError).code).toBe('Unavailable');
    expect(ms).toBeLessThan(3000);
    await backend.close();
  });

  it('a server that accepts but never answers fails Timeout after requestTimeoutMs', async () => {
    const sockets = new Set<Socket>();
    let connections = 0;
    const silent = createTcpServer((socket) => {
      connections += 1;
      sockets.add(socket);
      socket.on('error', () => undefined);
    });
    const port = await listen(silent);
    const backend = backendAt(port, { requestTimeoutMs: 500, retries: 1 });
    try {
      const { error, ms } = await timed(backend.read('a/b.ts'));
      expect((error as StorageError).code).toBe('Timeout');
      // Two attempts (retries: 1), each given up after requestTimeoutMs on its own connection.
      expect(connections).toBe(2);
      expect(ms).toBeLessThan(3000);
    } finally {
      await backend.close();
      for (const socket of sockets) socket.destroy();
      silent.close();
    }
  });

  // A connect blackhole on loopback: a listening socket that never accepts, its queue filled. Node
  // always accepts, so python holds the socket.
  const python = spawnSync('python3', ['-c', 'print(1)']).status === 0;
  it.skipIf(!python)('a connection that never opens fails Timeout after connectTimeoutMs', async () => {
    const script = "import socket,time\ns=socket.socket()\ns.bind(('127.0.0.1',0))\ns.listen(0)\nprint(s.getsockname()[1],flush=True)\ntime.sleep(60)";
    const holder: ChildProcess = spawn('python3', ['-c', script], { stdio: ['ignore', 'pipe', 'inherit'] });
    const fillers: Socket[] = [];
    try {
      const port = await new Promise<number>((resolve) => createInterface({ input: holder.stdout! }).once('line', (line) => resolve(Number(line))));
      for (let i = 0; i < 2; i++) fillers.push(connect(port, '127.0.0.1').on('error', () => undefined));
      await new Promise((resolve) => setTimeout(resolve, 200));
      const backend = backendAt(port, { connectTimeoutMs: 500, retries: 1 });
      const { error, ms } = await timed(backend.exists('a/b.ts'));
      await backend.close();
      expect((error as StorageError).code).toBe('Timeout');
      expect(ms).toBeLessThan(3000);
    } finally {
      for (const socket of fillers) socket.destroy();
      holder.kill('SIGKILL');
    }
  });

  it('throws, never ends quietly, when a truncated page has no continuation token', async () => {
    const body =
      '<?xml version="1.0" encoding="UTF-8"?><ListBucketResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/">' +
      '<Name>nowhere</Name><Prefix></Prefix><KeyCount>1</KeyCount><MaxKeys>1000</MaxKeys><IsTruncated>true</IsTruncated>' +
      '<Contents><Key>a/one.ts</Key><LastModified>2024-01-01T00:00:00.000Z</LastModified><ETag>"x"</ETag><Size>1</Size></Contents>' +
      '</ListBucketResult>';
    const broken = createHttpServer((_req, res) => res.writeHead(200, { 'content-type': 'application/xml' }).end(body));
    const backend = backendAt(await listen(broken));
    try {
      const seen: string[] = [];
      const listing = (async () => {
        for await (const entry of backend.list('a/')) seen.push(entry.key);
      })();
      await expect(listing).rejects.toMatchObject({ code: 'Unavailable' });
      expect(seen).toEqual(['a/one.ts']);
    } finally {
      await backend.close();
      broken.close();
    }
  });

  it('keeps credentials out of error messages', () => {
    expect(redact('failed for AKIAEXAMPLE with secret s3cr3t-value', ['AKIAEXAMPLE', 's3cr3t-value'])).toBe('failed for *** with secret ***');
    expect(redact('connect to http://user:pw@host:9000/b failed', [])).toBe('connect to http://***@host:9000/b failed');
  });
});
