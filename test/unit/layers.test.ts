// The layers' contract (src/layers): each attempt is aborted when its deadline fires, the layer's
// promise settles only after the attempt settled, retries stop when the caller aborts, a caller's
// abort rejects with Interrupted, and a call's deadline starts only once it has a slot.

import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { LocalBackend } from '../../src/backends/local/index.js';
import type { CallOptions, ObjectInfo } from '../../src/backends/types.js';
import { StorageError } from '../../src/errors.js';
import { applyLayers, mayStillBeRunning, retrying } from '../../src/layers/index.js';
import { POOL_DEFAULTS, StoragePool } from '../../src/pool/pool.js';
import { HeldBackend } from '../support/held-backend.js';

async function settleTime<T>(promise: Promise<T>): Promise<{ error: unknown; at: number }> {
  try {
    await promise;
    return { error: undefined, at: performance.now() };
  } catch (error) {
    return { error, at: performance.now() };
  }
}

describe('the timeout layer', () => {
  it('aborts the attempt when its deadline fires, and settles only after the attempt settled', async () => {
    const inner = new HeldBackend({ settleDelayMs: 150 });
    const layered = applyLayers(inner, { timeoutMs: 100, retries: 0 });
    const { error, at } = await settleTime(layered.write('a/b.ts', Buffer.from('data')));
    expect((error as StorageError).code).toBe('Timeout');
    expect(inner.attempts).toHaveLength(1);
    const attempt = inner.attempts[0]!;
    expect(attempt.signal?.aborted).toBe(true);
    expect((attempt.signal?.reason as StorageError).code).toBe('Timeout');
    expect(attempt.settledAt).toBeDefined();
    expect(at).toBeGreaterThanOrEqual(attempt.settledAt!);
  });

  it('gives every call an attempt signal, even when the caller passed none', async () => {
    const inner = new HeldBackend();
    const layered = applyLayers(inner, { timeoutMs: 5000, retries: 0 });
    const calls = [layered.delete('a/1.ts'), layered.exists('a/2.ts'), layered.stat('a/3.ts'), layered.deleteMany(['a/4.ts']), layered.usage()];
    expect(inner.attempts.every((a) => a.signal instanceof AbortSignal && !a.signal.aborted)).toBe(true);
    for (const attempt of inner.attempts) attempt.settle();
    await Promise.all(calls);
  });

  it('a listing page that misses its deadline aborts the listing and rejects Timeout after it settled', async () => {
    const inner = new HeldBackend({ settleDelayMs: 50 });
    const layered = applyLayers(inner, { timeoutMs: 100, retries: 0 });
    const walk = (async () => {
      for await (const entry of layered.list('a/')) void entry;
    })();
    const { error, at } = await settleTime(walk);
    expect((error as StorageError).code).toBe('Timeout');
    expect(inner.attempts[0]!.signal?.aborted).toBe(true);
    expect(at).toBeGreaterThanOrEqual(inner.attempts[0]!.settledAt!);
  });

  it('rejects with Interrupted when the caller aborts, after the attempt settled', async () => {
    const inner = new HeldBackend({ settleDelayMs: 100 });
    const layered = applyLayers(inner, { timeoutMs: 10_000, retries: 2 });
    const caller = new AbortController();
    const reading = settleTime(layered.read('a/b.ts', { signal: caller.signal }));
    await new Promise((resolve) => setTimeout(resolve, 20));
    caller.abort();
    const { error, at } = await reading;
    expect((error as StorageError).code).toBe('Interrupted');
    expect(inner.attempts).toHaveLength(1);
    expect(inner.attempts[0]!.signal?.aborted).toBe(true);
    expect(at).toBeGreaterThanOrEqual(inner.attempts[0]!.settledAt!);
  });

  it('stops waiting for an attempt that ignores its abort, and then never retries it', async () => {
    const inner = new HeldBackend({ ignoreAbort: true });
    const layered = applyLayers(inner, { timeoutMs: 50, retries: 3 });
    const started = performance.now();
    const { error } = await settleTime(layered.write('a/b.ts', Buffer.from('data')));
    expect((error as StorageError).code).toBe('Timeout');
    expect((error as StorageError).retryable).toBe(false);
    expect(mayStillBeRunning(error)).toBe(true);
    expect(inner.attempts).toHaveLength(1);
    expect(performance.now() - started).toBeLessThan(5000);
  });

  it('keeps an error that is not the layer’s as it is', async () => {
    const inner = new HeldBackend({ failWith: () => new StorageError('NotFound', 'no such object') });
    const layered = applyLayers(inner, { timeoutMs: 1000, retries: 2 });
    const { error } = await settleTime(layered.read('a/b.ts'));
    expect((error as StorageError).code).toBe('NotFound');
    expect(mayStillBeRunning(error)).toBe(false);
    expect(inner.attempts).toHaveLength(1);
  });
});

describe('the retry layer', () => {
  it('retries a timed-out attempt only after it settled, each with a fresh signal', async () => {
    const inner = new HeldBackend({ settleDelayMs: 30 });
    const layered = applyLayers(inner, { timeoutMs: 50, retries: 2 });
    const { error } = await settleTime(layered.write('a/b.ts', Buffer.from('data')));
    expect((error as StorageError).code).toBe('Timeout');
    expect(inner.attempts).toHaveLength(3);
    const signals = new Set(inner.attempts.map((a) => a.signal));
    expect(signals.size).toBe(3);
    // No attempt started before the one before it had settled: a late write never lands after a newer one.
    for (let i = 1; i < inner.attempts.length; i++) {
      expect(inner.attempts[i]!.startedAt).toBeGreaterThanOrEqual(inner.attempts[i - 1]!.settledAt!);
    }
  });

  it('does not retry once the caller aborted, and its backoff sleep ends at the abort', async () => {
    const caller = new AbortController();
    let calls = 0;
    const started = performance.now();
    const outcome = settleTime(
      retrying(
        { retries: 5, baseDelayMs: 60_000 },
        async () => {
          calls++;
          throw new StorageError('Unavailable', 'down');
        },
        caller.signal,
      ),
    );
    await new Promise((resolve) => setTimeout(resolve, 50));
    caller.abort();
    const { error } = await outcome;
    expect((error as StorageError).code).toBe('Interrupted');
    expect(calls).toBe(1);
    expect(performance.now() - started).toBeLessThan(5000);
  });

  it('never starts an attempt for a signal that already fired', async () => {
    const inner = new HeldBackend();
    const layered = applyLayers(inner, { timeoutMs: 1000, retries: 2 });
    const { error } = await settleTime(layered.read('a/b.ts', { signal: AbortSignal.abort() }));
    expect((error as StorageError).code).toBe('Interrupted');
    expect(inner.attempts).toHaveLength(0);
  });
});

describe('the scope signal (openStorage / StoragePool)', () => {
  it('aborts every call in flight of the pool, which rejects Interrupted', async () => {
    const inner = new HeldBackend();
    const scope = new AbortController();
    const pool = new StoragePool({ ...POOL_DEFAULTS, name: 'held', timeoutMs: 10_000 }, inner, { signal: scope.signal });
    const calls = [settleTime(pool.read('a/1.ts')), settleTime(pool.write('a/2.ts', Buffer.from('x'))), settleTime(pool.delete('a/3.ts'))];
    await new Promise((resolve) => setTimeout(resolve, 20));
    scope.abort();
    const outcomes = await Promise.all(calls);
    expect(outcomes.map((o) => (o.error as StorageError).code)).toEqual(['Interrupted', 'Interrupted', 'Interrupted']);
    expect(inner.attempts.every((a) => a.signal?.aborted === true)).toBe(true);
  });
});

describe('the in-flight limit', () => {
  it('starts a call’s deadline only once it has a slot', async () => {
    const inner = new HeldBackend({ maxInFlight: 1 });
    const layered = applyLayers(inner, { timeoutMs: 300, retries: 0 });
    const first = layered.read('a/1.ts');
    const second = settleTime(layered.read('a/2.ts'));
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(inner.attempts).toHaveLength(1);
    inner.attempts[0]!.settle();
    await first;
    // The second call waited 200 ms for its slot, and still has its whole deadline.
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(inner.attempts).toHaveLength(2);
    expect(inner.attempts[1]!.signal?.aborted).toBe(false);
    inner.attempts[1]!.settle();
    expect((await second).error).toBeUndefined();
  });

  it('a call waiting for a slot rejects Interrupted at once when its caller aborts', async () => {
    const inner = new HeldBackend({ maxInFlight: 1 });
    const layered = applyLayers(inner, { timeoutMs: 10_000, retries: 0 });
    const first = layered.read('a/1.ts');
    const caller = new AbortController();
    const second = settleTime(layered.read('a/2.ts', { signal: caller.signal }));
    caller.abort();
    expect(((await second).error as StorageError).code).toBe('Interrupted');
    expect(inner.attempts).toHaveLength(1);
    inner.attempts[0]!.settle();
    await first;
  });
});

describe('a streamed read under the layers', () => {
  it('gives each chunk the deadline, so a read that stalls mid-way times out', async () => {
    const inner = new HeldBackend({ settleDelayMs: 10 });
    const layered = applyLayers(inner, { timeoutMs: 150, retries: 2 });
    const chunks: Uint8Array[] = [];
    const reading = settleTime((async () => {
      for await (const chunk of layered.readStream('a/1.ts')) chunks.push(chunk);
    })());
    await new Promise((resolve) => setTimeout(resolve, 100));
    inner.attempts[0]!.settle();
    const { error } = await reading;
    expect((error as StorageError).code).toBe('Timeout');
    expect(Buffer.concat(chunks).toString()).toBe('a');
    // Never retried: a retry part way through would repeat bytes.
    expect(inner.attempts.map((a) => a.key)).toEqual(['a/1.ts#0', 'a/1.ts#1']);
  });

  it('holds one in-flight slot from its first chunk to its end', async () => {
    const inner = new HeldBackend({ maxInFlight: 1 });
    const layered = applyLayers(inner, { timeoutMs: 10_000, retries: 0 });
    const iterator = layered.readStream('a/1.ts')[Symbol.asyncIterator]();
    const first = iterator.next();
    await new Promise((resolve) => setTimeout(resolve, 10));
    inner.attempts[0]!.settle();
    await first;
    // Between its chunks the stream still holds its request: another call waits.
    const other = layered.read('a/2.ts');
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(inner.attempts.map((a) => a.key)).toEqual(['a/1.ts#0']);
    await iterator.return!();
    await new Promise((resolve) => setTimeout(resolve, 10));
    expect(inner.attempts.map((a) => a.key)).toEqual(['a/1.ts#0', 'a/2.ts']);
    inner.attempts[1]!.settle();
    await other;
  });

  it('ends at once when the caller aborts', async () => {
    const inner = new HeldBackend();
    const layered = applyLayers(inner, { timeoutMs: 10_000, retries: 0 });
    const caller = new AbortController();
    const reading = settleTime((async () => {
      for await (const chunk of layered.readStream('a/1.ts', { signal: caller.signal })) expect(chunk).toBeDefined();
    })());
    await new Promise((resolve) => setTimeout(resolve, 10));
    caller.abort();
    expect(((await reading).error as StorageError).code).toBe('Interrupted');
    expect(inner.attempts[0]!.signal?.aborted).toBe(true);
  });
});

describe('the local backend under abort', () => {
  it('an aborted write leaves nothing under the key, and the old object stays', async () => {
    const root = await mkdtemp(path.join(tmpdir(), 'flux-abort-'));
    const backend = new LocalBackend({ type: 'local', root, fsync: false, concurrency: 4 });
    await backend.write('a/b.ts', Buffer.from('old'));
    const caller = new AbortController();
    caller.abort();
    await expect(backend.write('a/b.ts', Buffer.alloc(1 << 20, 1), { signal: caller.signal })).rejects.toMatchObject({ code: 'Interrupted' });
    await expect(backend.read('a/b.ts', { signal: AbortSignal.abort() })).rejects.toMatchObject({ code: 'Interrupted' });
    expect((await backend.read('a/b.ts')).toString()).toBe('old');
  });

  it('an attempt aborted by the deadline reports Timeout', async () => {
    const root = await mkdtemp(path.join(tmpdir(), 'flux-abort-'));
    const backend = new LocalBackend({ type: 'local', root, fsync: false, concurrency: 4 });
    const controller = new AbortController();
    controller.abort(new StorageError('Timeout', 'write a/b.ts did not answer within 1 ms'));
    await expect(backend.write('a/b.ts', Buffer.from('x'), { signal: controller.signal })).rejects.toMatchObject({ code: 'Timeout' });
    expect(await backend.exists('a/b.ts')).toBe(false);
  });

  it('wraps a backend that lists by pages per page: every entry in order, a deadline per page, one slot per page', async () => {
    const entry = (i: number): ObjectInfo => ({ key: `p/segment_${i}.ts`, size: 1, modified: new Date(0), md5: undefined });
    let inFlight = 0;
    let maxInFlight = 0;
    let stall = false;
    class PagedBackend extends HeldBackend {
      override list(): AsyncIterable<ObjectInfo> {
        throw new Error('list() is not used where listPages() exists');
      }
      async *listPages(_prefix: string, options?: CallOptions): AsyncIterable<ObjectInfo[]> {
        for (let page = 0; page < 3; page++) {
          inFlight++;
          maxInFlight = Math.max(maxInFlight, inFlight);
          // The last page stalls past the deadline unless the listing is aborted first.
          await new Promise<void>((resolve) => {
            const timer = setTimeout(resolve, page === 2 && stall ? 10_000 : 1);
            options?.signal?.addEventListener('abort', () => (clearTimeout(timer), resolve()), { once: true });
          });
          inFlight--;
          if (options?.signal?.aborted === true) throw options.signal.reason;
          yield Array.from({ length: 1000 }, (_, i) => entry(page * 1000 + i));
        }
      }
    }
    const paged = new PagedBackend({ maxInFlight: 1 });
    const layered = applyLayers(paged, { timeoutMs: 200, retries: 0 });
    const keys: string[] = [];
    for await (const info of layered.list('p/')) keys.push(info.key);
    expect(keys).toEqual(Array.from({ length: 3000 }, (_, i) => `p/segment_${i}.ts`));
    expect(maxInFlight).toBe(1);
    const pages: number[] = [];
    for await (const page of layered.listPages!('p/')) pages.push(page.length);
    expect(pages).toEqual([1000, 1000, 1000]);
    stall = true;
    const seen: string[] = [];
    const started = performance.now();
    await expect((async () => {
      for await (const info of layered.list('p/')) seen.push(info.key);
    })()).rejects.toMatchObject({ code: 'Timeout' });
    expect(seen).toHaveLength(2000);
    expect(performance.now() - started).toBeLessThan(5000);
  });
});
