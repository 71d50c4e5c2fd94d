// The md5 worker and the shared buffers migrate reads into: the hash is the data's whether it comes
// in a plain Buffer, a view at an offset of a SharedArrayBuffer, or one bigger than any kept buffer.

import { createHash, randomBytes } from 'node:crypto';
import { afterAll, describe, expect, it } from 'vitest';
import { SharedBuffers } from '../../src/migrate/buffers.js';
import { Md5Hasher } from '../../src/migrate/md5-worker.js';

const md5 = (data: Uint8Array): string => createHash('md5').update(data).digest('hex');

describe('Md5Hasher', () => {
  const hasher = new Md5Hasher();
  afterAll(() => hasher.close());

  it('hashes plain buffers, views of shared ones at an offset, and empty data, many at once', async () => {
    const inputs: Uint8Array[] = [Buffer.alloc(0), randomBytes(1), randomBytes(3 * 1024 * 1024), randomBytes(20 * 1024 * 1024)];
    const shared = Buffer.from(new SharedArrayBuffer(10_000));
    randomBytes(10_000).copy(shared);
    inputs.push(shared.subarray(123, 4567), shared);
    for (let i = 0; i < 40; i++) inputs.push(randomBytes(1000 + i * 7919));
    const digests = await Promise.all(inputs.map((data) => hasher.digest(data)));
    expect(digests).toEqual(inputs.map(md5));
  });

  it('warm() boots the worker before the first digest (once, however often it is called), and close() ends it', async () => {
    const warm = new Md5Hasher();
    const workerOf = (h: Md5Hasher): unknown => (h as unknown as { worker?: unknown }).worker;
    expect(workerOf(warm)).toBeUndefined();
    warm.warm();
    const booted = workerOf(warm);
    expect(booted).toBeDefined();
    warm.warm();
    expect(workerOf(warm)).toBe(booted);
    const data = randomBytes(4096);
    expect(await warm.digest(data)).toBe(md5(data));
    expect(workerOf(warm)).toBe(booted);
    await warm.close();
    expect(workerOf(warm)).toBeUndefined();
  });
});

describe('SharedBuffers', () => {
  it('hands out shared buffers at least as big as asked, and reuses a released one that fits', () => {
    const buffers = new SharedBuffers();
    const a = buffers.acquire(10);
    expect(a.buffer).toBeInstanceOf(SharedArrayBuffer);
    expect(a.length).toBeGreaterThanOrEqual(10);
    const big = buffers.acquire(a.length + 1);
    expect(big.length).toBeGreaterThan(a.length);
    buffers.release(a);
    expect(buffers.acquire(5).buffer).toBe(a.buffer);
    expect(buffers.acquire(5).buffer).not.toBe(a.buffer);
    buffers.release(big);
    expect(buffers.acquire(a.length + 1).buffer).toBe(big.buffer);
  });

  it('does not keep buffers above 16 MiB', () => {
    const buffers = new SharedBuffers();
    const huge = buffers.acquire(17 * 1024 * 1024);
    buffers.release(huge);
    expect(buffers.acquire(17 * 1024 * 1024).buffer).not.toBe(huge.buffer);
  });
});
