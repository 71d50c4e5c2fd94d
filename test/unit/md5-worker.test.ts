// The md5 worker and the shared buffers migrate reads into: the hash is the data's whether it comes
// in a plain Buffer, a view at an offset of a SharedArrayBuffer, or one bigger than any kept buffer.

import { createHash, randomBytes } from 'node:crypto';
import type { Worker } from 'node:worker_threads';
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

describe('Md5Hasher, its worker', () => {
  const workerOf = (h: Md5Hasher): Worker => (h as unknown as { worker: Worker }).worker;

  it('one that dies mid-hash: what it owed is hashed here, and the next digest starts a new worker', async () => {
    const h = new Md5Hasher();
    try {
      h.warm();
      const first = workerOf(h);
      const died = new Promise((resolve) => first.once('exit', resolve));
      // A job the worker cannot do (an offset past the end of its buffer) throws in it, and it dies
      // before it reaches the digest queued behind it.
      first.postMessage({ id: -1, buffer: new SharedArrayBuffer(1), offset: 5, length: 1 });
      const owed = randomBytes(1000);
      expect(await h.digest(owed)).toBe(md5(owed));
      await died;
      const later = randomBytes(2000);
      expect(await h.digest(later)).toBe(md5(later));
      expect(workerOf(h)).toBeDefined();
      expect(workerOf(h)).not.toBe(first);
    } finally {
      await h.close();
    }
  });

  it('keeps the process alive only while a digest is pending', async () => {
    const h = new Md5Hasher();
    try {
      h.warm();
      const worker = workerOf(h);
      const calls: string[] = [];
      const [ref, unref] = [worker.ref.bind(worker), worker.unref.bind(worker)];
      worker.ref = () => (calls.push('ref'), ref());
      worker.unref = () => (calls.push('unref'), unref());
      await h.digest(randomBytes(10));
      expect(calls).toEqual(['ref', 'unref']);
      calls.length = 0;
      await Promise.all([h.digest(randomBytes(10)), h.digest(randomBytes(20)), h.digest(randomBytes(30))]);
      expect(calls).toEqual(['ref', 'unref']);
    } finally {
      await h.close();
    }
  });

  it('gives back the shared copy of plain data once it is hashed, for the next digest to reuse', async () => {
    const h = new Md5Hasher();
    const copies = (h as unknown as { copies: SharedBuffers }).copies;
    try {
      const data = randomBytes(5000);
      expect(await h.digest(data)).toBe(md5(data));
      const kept = copies.acquire(5000);
      expect(kept.length).toBeGreaterThanOrEqual(5000);
      copies.release(kept);
      // The buffer hashed from was the one given back: the next digest of plain data uses it again.
      const next = randomBytes(5000);
      expect(await h.digest(next)).toBe(md5(next));
      expect(copies.acquire(5000).buffer).toBe(kept.buffer);
    } finally {
      await h.close();
    }
  });
});

describe('SharedBuffers', () => {
  it('keeps at most 256 MiB of released buffers, and a buffer handed out again leaves that count', () => {
    // Shared memory is reserved, not touched: 17 × 16 MiB costs no time and no resident memory.
    const MIB_16 = 16 * 1024 * 1024;
    const buffers = new SharedBuffers();
    const round = (): Buffer[] => Array.from({ length: 17 }, () => buffers.acquire(MIB_16));
    const reusedFrom = (now: Buffer[], before: Buffer[]): number => now.filter((b) => before.some((a) => a.buffer === b.buffer)).length;
    const first = round();
    for (const b of first) buffers.release(b);
    const second = round();
    // 16 kept (256 MiB), the 17th dropped.
    expect(reusedFrom(second, first)).toBe(16);
    for (const b of second) buffers.release(b);
    // The 16 reused ones left the count when handed out: 16 are kept again, not none.
    expect(reusedFrom(round(), second)).toBe(16);
  });

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
