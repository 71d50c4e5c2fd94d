// sameStore: two pools proven to be one store (or two) by a marker object, never by their configs,
// against real local folders, s3rver and redis-server.

import { CreateBucketCommand, ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';
import { mkdir, mkdtemp, readdir, symlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config/load.js';
import { openStorage } from '../../src/config/open.js';
import { isStorageError } from '../../src/errors.js';
import { sameStore } from '../../src/pool/same-store.js';
import { describeWithRedis, startRedis, type RedisTestServer } from '../support/redis.js';
import { startS3Server, type S3TestServer } from '../support/s3rver.js';

/** Two pools named a and b over the given backends, built the way the CLI builds them. */
async function pools(a: unknown, b: unknown, baseDir: string, extra: { aReadOnly?: boolean; bReadOnly?: boolean } = {}) {
  const config = parseConfig({
    pools: [
      { name: 'a', priority: 1, readOnly: extra.aReadOnly ?? false, timeoutMs: 5000, backend: a },
      { name: 'b', priority: 2, readOnly: extra.bReadOnly ?? false, timeoutMs: 5000, backend: b },
    ],
  });
  const storage = await openStorage(config, { baseDir });
  return { a: storage.manager.pool('a'), b: storage.manager.pool('b'), close: () => storage.manager.close() };
}

async function markersLeft(root: string): Promise<string[]> {
  return readdir(path.join(root, '.flux-storage', 'same-store')).catch(() => []);
}

describe('sameStore on local pools', () => {
  it('sees one folder spelled two ways (./data and data/../data) as one store, and removes its marker', async () => {
    const base = await mkdtemp(path.join(tmpdir(), 'flux-same-'));
    await mkdir(path.join(base, 'data'));
    const p = await pools({ type: 'local', root: './data' }, { type: 'local', root: 'data/../data' }, base);
    expect(await sameStore(p.a, p.b)).toBe(true);
    expect(await sameStore(p.b, p.a)).toBe(true);
    expect(await markersLeft(path.join(base, 'data'))).toEqual([]);
    await p.close();
  });

  it('sees a symlinked root as the folder it points to', async () => {
    const base = await mkdtemp(path.join(tmpdir(), 'flux-same-'));
    await mkdir(path.join(base, 'real'));
    await symlink(path.join(base, 'real'), path.join(base, 'link'));
    const p = await pools({ type: 'local', root: path.join(base, 'real') }, { type: 'local', root: './link' }, base);
    expect(await sameStore(p.a, p.b)).toBe(true);
    await p.close();
  });

  it('tells two folders apart, one nested in the other included', async () => {
    const base = await mkdtemp(path.join(tmpdir(), 'flux-same-'));
    await mkdir(path.join(base, 'one', 'inner'), { recursive: true });
    await mkdir(path.join(base, 'two'));
    const p = await pools({ type: 'local', root: './one' }, { type: 'local', root: './two' }, base);
    expect(await sameStore(p.a, p.b)).toBe(false);
    expect(await markersLeft(path.join(base, 'one'))).toEqual([]);
    await p.close();
    const nested = await pools({ type: 'local', root: './one' }, { type: 'local', root: './one/inner' }, base);
    expect(await sameStore(nested.a, nested.b)).toBe(false);
    await nested.close();
  });

  it('writes its marker to the writable pool when the other is read-only, and proves either way', async () => {
    const base = await mkdtemp(path.join(tmpdir(), 'flux-same-'));
    await mkdir(path.join(base, 'data'));
    await mkdir(path.join(base, 'other'));
    const same = await pools({ type: 'local', root: './data' }, { type: 'local', root: `${base}/data/` }, base, { aReadOnly: true });
    expect(await sameStore(same.a, same.b)).toBe(true);
    await same.close();
    const different = await pools({ type: 'local', root: './data' }, { type: 'local', root: './other' }, base, { bReadOnly: true });
    expect(await sameStore(different.a, different.b)).toBe(false);
    await different.close();
  });

  it('cannot tell when neither pool can be written: PermissionDenied for two read-only pools, the write failure otherwise', async () => {
    const base = await mkdtemp(path.join(tmpdir(), 'flux-same-'));
    await mkdir(path.join(base, 'data'));
    const readOnly = await pools({ type: 'local', root: './data' }, { type: 'local', root: './data' }, base, { aReadOnly: true, bReadOnly: true });
    const error = await sameStore(readOnly.a, readOnly.b).catch((e: unknown) => e);
    expect(isStorageError(error, 'PermissionDenied'), String(error)).toBe(true);
    expect((error as Error).message).toMatch(/pools "a" and "b".*read-only/);
    expect(await markersLeft(path.join(base, 'data'))).toEqual([]);
    await readOnly.close();
    // A root that is a regular file refuses every write (Unavailable, not retryable).
    const { writeFile } = await import('node:fs/promises');
    await writeFile(path.join(base, 'file'), 'not a folder');
    const broken = await pools({ type: 'local', root: './file' }, { type: 'local', root: './file' }, base);
    const failure = await sameStore(broken.a, broken.b).catch((e: unknown) => e);
    expect(isStorageError(failure), String(failure)).toBe(true);
    expect((failure as Error).message).toMatch(/cannot tell whether pools "a" and "b" are one store: no marker object could be written/);
    await broken.close();
  });

  it('a pool is one store with itself, even a read-only one (no marker is written to find out)', async () => {
    const base = await mkdtemp(path.join(tmpdir(), 'flux-same-'));
    await mkdir(path.join(base, 'data'));
    const p = await pools({ type: 'local', root: './data' }, { type: 'local', root: './data' }, base, { aReadOnly: true, bReadOnly: true });
    expect(await sameStore(p.a, p.a)).toBe(true);
    await p.close();
  });

  it('stops with Interrupted when its signal is aborted, and writes nothing', async () => {
    const base = await mkdtemp(path.join(tmpdir(), 'flux-same-'));
    await mkdir(path.join(base, 'data'));
    const p = await pools({ type: 'local', root: './data' }, { type: 'local', root: './data' }, base);
    const error = await sameStore(p.a, p.b, { signal: AbortSignal.abort() }).catch((e: unknown) => e);
    expect(isStorageError(error, 'Interrupted'), String(error)).toBe(true);
    expect(await markersLeft(path.join(base, 'data'))).toEqual([]);
    await p.close();
  });
});

describe('sameStore on S3 pools (s3rver)', () => {
  let s3: S3TestServer;
  beforeAll(async () => {
    s3 = await startS3Server();
  });
  afterAll(async () => {
    await s3?.close();
  });

  it('sees one bucket under two configs (region, endpoint spelling) as one store', async () => {
    const base = await mkdtemp(path.join(tmpdir(), 'flux-same-'));
    const p = await pools(s3.poolOptions(), s3.poolOptions({ endpoint: `${s3.endpoint}/`, region: 'eu-west-1' }), base);
    expect(await sameStore(p.a, p.b)).toBe(true);
    await p.close();
  });

  it('tells two buckets of one server apart, and leaves no marker', async () => {
    const client = new S3Client({ endpoint: s3.endpoint, forcePathStyle: true, region: 'us-east-1', credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' } });
    const other = `${s3.bucket}-other`;
    await client.send(new CreateBucketCommand({ Bucket: other }));
    const base = await mkdtemp(path.join(tmpdir(), 'flux-same-'));
    const p = await pools(s3.poolOptions(), s3.poolOptions({ bucket: other }), base);
    expect(await sameStore(p.a, p.b)).toBe(false);
    expect(await sameStore(p.b, p.a)).toBe(false);
    await p.close();
    for (const bucket of [s3.bucket, other]) {
      const listed = await client.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: '.flux-storage/same-store/' }));
      expect(listed.KeyCount ?? 0).toBe(0);
    }
    client.destroy();
  });
});

describeWithRedis('sameStore on Redis pools (redis-server)', () => {
  let redis: RedisTestServer;
  beforeAll(async () => {
    redis = await startRedis();
  });
  afterAll(async () => {
    await redis?.close();
  });

  it('sees one database and key prefix under two URLs as one store', async () => {
    const base = await mkdtemp(path.join(tmpdir(), 'flux-same-'));
    const options = redis.poolOptions();
    const p = await pools(options, { ...options, url: `redis://127.0.0.1:${redis.port}/0` }, base);
    expect(await sameStore(p.a, p.b)).toBe(true);
    await p.close();
  });

  it('tells another key prefix, or another database, apart', async () => {
    const base = await mkdtemp(path.join(tmpdir(), 'flux-same-'));
    const options = redis.poolOptions();
    const prefixes = await pools(options, redis.poolOptions(), base);
    expect(await sameStore(prefixes.a, prefixes.b)).toBe(false);
    await prefixes.close();
    const databases = await pools(options, { ...options, url: `redis://127.0.0.1:${redis.port}/1` }, base);
    expect(await sameStore(databases.a, databases.b)).toBe(false);
    await databases.close();
    const left = (await redis.command('KEYS', '*same-store*')) as string[];
    expect(left).toEqual([]);
  });

  it('cannot tell when both writes fail in different ways: the lasting cause is the code (not the retryable one), both reasons are named', async () => {
    const guarded = await startRedis({ requirepass: 'right-password' });
    try {
      const base = await mkdtemp(path.join(tmpdir(), 'flux-same-'));
      const { writeFile } = await import('node:fs/promises');
      // A local root that is a regular file: every write fails, as a store that is there but broken.
      await writeFile(path.join(base, 'file'), 'not a folder');
      const local = { type: 'local', root: './file' };
      const wrongPassword = { ...guarded.poolOptions(), url: `redis://:wrong-password@127.0.0.1:${guarded.port}` };
      for (const [a, b] of [[local, wrongPassword], [wrongPassword, local]] as const) {
        const p = await pools(a, b, base);
        const error = await sameStore(p.a, p.b).catch((e: unknown) => e);
        await p.close();
        expect(isStorageError(error), String(error)).toBe(true);
        const failure = error as import('../../src/errors.js').StorageError;
        expect(failure.code).toBe('PermissionDenied');
        expect(failure.message).toMatch(/^cannot tell whether pools "a" and "b" are one store: no marker object could be written \(.+; .+\)$/);
        expect(failure.message).not.toContain('wrong-password');
      }
    } finally {
      await guarded.close();
    }
  });
});
