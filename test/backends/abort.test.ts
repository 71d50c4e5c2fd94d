// Each cloud backend honours its call's AbortSignal (src/backends/types.ts, CallOptions) against a
// server that accepts and never answers: the call rejects at once, with Interrupted for a caller's
// abort and with the signal's StorageError (Timeout, as the timeout layer aborts) otherwise; S3 and
// OSS give their request up (the server sees the connection closed); close() lets the process go.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as v from 'valibot';
import { OssBackend } from '../../src/backends/oss/index.js';
import { ossOptionsSchema } from '../../src/backends/oss/options.js';
import { RedisBackend } from '../../src/backends/redis/index.js';
import { redisOptionsSchema } from '../../src/backends/redis/options.js';
import { S3Backend } from '../../src/backends/s3/index.js';
import { s3OptionsSchema } from '../../src/backends/s3/options.js';
import type { StorageBackend } from '../../src/backends/types.js';
import { StorageError } from '../../src/errors.js';
import { startSilentServer, type SilentServer } from '../support/silent-server.js';

/** Far beyond the test: only the abort can end a call in time. */
const CLIENT_TIMEOUT_MS = 60_000;
/** From the abort to the call's rejection, on a loaded machine. */
const PROMPTLY_MS = 1000;

type Type = 's3' | 'oss' | 'redis';

function backendOn(type: Type, port: number): StorageBackend {
  const context = { timeoutMs: CLIENT_TIMEOUT_MS };
  switch (type) {
    case 's3':
      return new S3Backend(
        v.parse(s3OptionsSchema, {
          type,
          bucket: 'silent',
          endpoint: `http://127.0.0.1:${port}`,
          forcePathStyle: true,
          accessKeyId: 'id',
          secretAccessKey: 'secret',
          retries: 0,
          requestTimeoutMs: CLIENT_TIMEOUT_MS,
        }),
        context,
      );
    case 'oss':
      return new OssBackend(
        v.parse(ossOptionsSchema, { type, bucket: 'silent', endpoint: `http://127.0.0.1:${port}`, accessKeyId: 'id', accessKeySecret: 'secret', timeoutMs: CLIENT_TIMEOUT_MS }),
        { poolName: 'dead', baseDir: process.cwd(), ...context },
      );
    case 'redis':
      return new RedisBackend(v.parse(redisOptionsSchema, { type, url: `redis://127.0.0.1:${port}`, commandTimeoutMs: CLIENT_TIMEOUT_MS }), context);
  }
}

async function rejection(promise: Promise<unknown>): Promise<StorageError> {
  try {
    await promise;
  } catch (error) {
    return error as StorageError;
  }
  throw new Error('the call did not fail');
}

describe.each<Type>(['s3', 'oss', 'redis'])('%s backend: abort against a silent server', (type) => {
  let server: SilentServer;
  beforeAll(async () => {
    server = await startSilentServer();
  });
  afterAll(() => server.close());

  it('a caller abort rejects Interrupted at once, for a read, a write and a listing', async () => {
    const backend = backendOn(type, server.port);
    try {
      const caller = new AbortController();
      const seen = server.connections;
      const calls = [
        rejection(backend.read('a/1.ts', { signal: caller.signal })),
        rejection(backend.write('a/2.ts', Buffer.from('data'), { signal: caller.signal })),
        rejection(
          (async () => {
            for await (const entry of backend.list('a/', { signal: caller.signal })) void entry;
          })(),
        ),
      ];
      await server.connected(seen + 1);
      const aborted = performance.now();
      caller.abort();
      const errors = await Promise.all(calls);
      expect(performance.now() - aborted).toBeLessThan(PROMPTLY_MS);
      expect(errors.map((e) => e.code)).toEqual(['Interrupted', 'Interrupted', 'Interrupted']);
    } finally {
      await backend.close();
    }
  });

  it('an abort whose reason is a Timeout rejects with that Timeout', async () => {
    const backend = backendOn(type, server.port);
    try {
      const attempt = new AbortController();
      const seen = server.connections;
      const call = rejection(backend.stat('a/3.ts', { signal: attempt.signal }));
      await server.connected(seen + 1);
      attempt.abort(new StorageError('Timeout', 'stat a/3.ts did not answer within 10 ms'));
      const error = await call;
      expect(error.code).toBe('Timeout');
      expect(error.message).toMatch(/did not answer within 10 ms/);
    } finally {
      await backend.close();
    }
  });

  it('a signal that already fired never reaches the server', async () => {
    const backend = backendOn(type, server.port);
    try {
      const seen = server.connections;
      const error = await rejection(backend.exists('a/4.ts', { signal: AbortSignal.abort() }));
      expect(error.code).toBe('Interrupted');
      expect(server.connections).toBe(seen);
    } finally {
      await backend.close();
    }
  });
});

describe.each<Type>(['s3', 'oss'])('%s backend gives the request up', (type) => {
  it('the aborted request’s connection is closed', async () => {
    const server = await startSilentServer();
    const backend = backendOn(type, server.port);
    try {
      const caller = new AbortController();
      const call = rejection(backend.read('a/1.ts', { signal: caller.signal }));
      await server.connected(1);
      caller.abort();
      expect((await call).code).toBe('Interrupted');
      await server.allClosed();
      expect(server.open).toBe(0);
    } finally {
      await backend.close();
      await server.close();
    }
  });
});
