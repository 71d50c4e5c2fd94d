// A pool's usage figure, on an injected clock (src/pool/pool.ts; the mutants Stryker found
// unasserted, test/MUTATION.md): measured in the background, one measurement at a time, refreshed
// once older than 5 s and not before, the bytes written since added (also while the next one is
// measured), unknown where the backend cannot tell, not asked of a read-only or open pool, a failed
// measurement counted in the metrics (not by the breaker) and retried after 5 s, one that never
// answers given up after 10 minutes (fake timers), stopped by the owner's signal. And the durations
// a pool reports, bounded by the time the test saw pass (a duration computed as now + start is not).

import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { LocalBackend } from '../../src/backends/local/index.js';
import type { BackendCapabilities, BackendUsage, CallOptions, StorageBackend } from '../../src/backends/types.js';
import { StorageError } from '../../src/errors.js';
import { POOL_DEFAULTS, StoragePool, type PoolConfig, type PoolOperation } from '../../src/pool/pool.js';

const UNKNOWN = { usedBytes: null, totalBytes: null, percent: null };

async function folder(): Promise<string> {
  return mkdtemp(path.join(tmpdir(), 'flux-usage-'));
}

function local(root: string): LocalBackend {
  return new LocalBackend({ type: 'local', root, fsync: false, concurrency: 4 });
}

interface UsageCall {
  signal: AbortSignal | undefined;
  answer(usage: BackendUsage): void;
  fail(error: unknown): void;
}

/** A real local backend (writes, reads, lists on disk) whose usage() answers when and what the test says. */
function metered(root: string, capabilities: Partial<BackendCapabilities> = {}) {
  const inner = local(root);
  const calls: UsageCall[] = [];
  const backend = Object.assign(Object.create(inner) as StorageBackend, {
    type: inner.type,
    capabilities: { ...inner.capabilities, ...capabilities },
    usage: (options?: CallOptions) =>
      new Promise<BackendUsage>((resolve, reject) => {
        options?.signal?.addEventListener('abort', () => reject(new StorageError('Interrupted', 'usage was interrupted')), { once: true });
        calls.push({ signal: options?.signal, answer: resolve, fail: reject });
      }),
  });
  return { backend, calls };
}

/** A pool on `backend` whose usage figures are dated by a clock the test moves. */
function clocked(backend: StorageBackend, extra: Partial<PoolConfig> = {}, options: { signal?: AbortSignal; firstUsageWaitMs?: number } = {}) {
  let now = 1_000_000;
  const pool = new StoragePool({ ...POOL_DEFAULTS, name: 'a', retries: 0, timeoutMs: 30_000, ...extra }, backend, { now: () => now, health: { now: () => now }, firstUsageWaitMs: 30_000, ...options });
  return { pool, advance: (ms: number) => (now += ms) };
}

/** Lets every promise chain that waits on nothing but other promises run. */
const settle = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/** Whether `promise` has settled once every pending promise chain ran (no timer, no I/O waited for). */
async function settledAtOnce(promise: Promise<unknown>): Promise<boolean> {
  let settled = false;
  void promise.then(
    () => (settled = true),
    () => (settled = true),
  );
  await settle();
  return settled;
}

describe('the usage figure of a pool', () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it('is waited for by usage(), then refreshed in the background once older than 5 s (not at 5 s), one measurement at a time', async () => {
    const m = metered(await folder());
    const { pool, advance } = clocked(m.backend);
    const first = pool.usage();
    expect(m.calls).toHaveLength(1);
    m.calls[0]!.answer({ usedBytes: 10, totalBytes: 100 });
    expect(await first).toEqual({ usedBytes: 10, totalBytes: 100, percent: 10 });
    expect(pool.metrics()).toMatchObject({ operations: 1, errors: 0 });
    // Exactly 5 s old: still fresh, nobody measures again (checked before waiting: a measurement started would be waited for).
    advance(5_000);
    const fresh = pool.usage();
    expect(m.calls).toHaveLength(1);
    expect(await fresh).toEqual({ usedBytes: 10, totalBytes: 100, percent: 10 });
    expect(await pool.knownUsage()).toEqual({ usedBytes: 10, totalBytes: 100, percent: 10 });
    expect(m.calls).toHaveLength(1);
    // Older: a write's look-up starts a measurement and returns the figure it has without waiting for it.
    advance(1);
    const known = pool.knownUsage();
    expect(await settledAtOnce(known)).toBe(true);
    expect(await known).toEqual({ usedBytes: 10, totalBytes: 100, percent: 10 });
    expect(m.calls).toHaveLength(2);
    // One at a time: more look-ups while it runs start no other.
    await pool.knownUsage();
    await pool.knownUsage();
    expect(m.calls).toHaveLength(2);
    m.calls[1]!.answer({ usedBytes: 20, totalBytes: 100 });
    await settle();
    expect(await pool.knownUsage()).toEqual({ usedBytes: 20, totalBytes: 100, percent: 20 });
    // And the next one after that, 5 s on: the slot of the one under way was freed.
    advance(5_001);
    await pool.knownUsage();
    expect(m.calls).toHaveLength(3);
  });

  it('counts the bytes written since it was measured, also while the next measurement runs', async () => {
    const m = metered(await folder());
    const { pool, advance } = clocked(m.backend);
    const first = pool.usage();
    m.calls[0]!.answer({ usedBytes: 46, totalBytes: 200 });
    await first;
    await pool.write('hls/cam1/segment_1.ts', Buffer.alloc(4, 1));
    expect(await pool.knownUsage()).toEqual({ usedBytes: 50, totalBytes: 200, percent: 25 });
    advance(5_001);
    // A measurement starts: the 4 bytes are still counted until it answers.
    expect(await pool.knownUsage()).toEqual({ usedBytes: 50, totalBytes: 200, percent: 25 });
    expect(m.calls).toHaveLength(2);
    await pool.write('hls/cam1/segment_2.ts', Buffer.alloc(2, 1));
    expect((await pool.knownUsage())?.usedBytes).toBe(52);
    // It measured the store as it was when it started (the first 4 bytes in): the 2 written since are added.
    m.calls[1]!.answer({ usedBytes: 50, totalBytes: 200 });
    await settle();
    expect((await pool.knownUsage())?.usedBytes).toBe(52);
  });

  it('has no percent where the used or the total bytes are unknown (or the total is 0), and no used bytes made up from the writes', async () => {
    for (const [answer, expected] of [
      [{ usedBytes: null, totalBytes: 100 }, { usedBytes: null, totalBytes: 100, percent: null }],
      [{ usedBytes: 10, totalBytes: null }, { usedBytes: 15, totalBytes: null, percent: null }],
      [{ usedBytes: 10, totalBytes: 0 }, { usedBytes: 15, totalBytes: 0, percent: null }],
    ] as const) {
      const m = metered(await folder());
      const { pool } = clocked(m.backend);
      const first = pool.usage();
      m.calls[0]!.answer(answer);
      await first;
      await pool.write('hls/cam1/segment_1.ts', Buffer.alloc(5, 1));
      expect(await pool.usage()).toEqual(expected);
    }
  });

  it('of a backend that cannot measure is unknown, and it is never asked', async () => {
    const m = metered(await folder(), { usage: false });
    const { pool, advance } = clocked(m.backend);
    const answer = pool.usage();
    expect(m.calls).toHaveLength(0);
    expect(await answer).toEqual(UNKNOWN);
    expect(await pool.knownUsage()).toEqual(UNKNOWN);
    advance(60_000);
    expect(await pool.knownUsage()).toEqual(UNKNOWN);
    expect(m.calls).toHaveLength(0);
    expect(pool.metrics().operations).toBe(0);
  });

  it('is not asked for a write decision of a read-only pool, nor of an open one; a closed or half-open pool is measured', async () => {
    const readOnly = metered(await folder());
    const ro = clocked(readOnly.backend, { readOnly: true });
    const roFacts = ro.pool.facts();
    expect(readOnly.calls).toHaveLength(0);
    expect((await roFacts).usage).toBeUndefined();

    // A pool whose root is a file: its probe fails and opens the breaker (back-off 5 s).
    const file = path.join(await folder(), 'file');
    await writeFile(file, 'not a folder');
    const broken = metered(file);
    const open = clocked(broken.backend);
    expect((await open.pool.probe()).ok).toBe(false);
    expect(open.pool.breakerState).toBe('open');
    const openFacts = open.pool.facts();
    expect(broken.calls).toHaveLength(0);
    expect(await openFacts).toMatchObject({ breaker: 'open', usage: undefined });
    open.advance(5_000);
    expect(open.pool.breakerState).toBe('half-open');
    const halfOpen = open.pool.facts();
    expect(broken.calls).toHaveLength(1);
    broken.calls[0]!.answer({ usedBytes: 1, totalBytes: 2 });
    expect(await halfOpen).toMatchObject({ breaker: 'half-open', usage: { usedBytes: 1, totalBytes: 2, percent: 50 } });
  });

  it('that failed reads as unknown, is counted in the metrics (not by the breaker), and is measured again only after 5 s', async () => {
    const m = metered(await folder());
    const { pool, advance } = clocked(m.backend);
    for (let i = 0; i < 3; i++) {
      const answer = pool.usage();
      m.calls[i]!.fail(new StorageError('Unavailable', 'statfs failed'));
      expect(await answer).toEqual(UNKNOWN);
      advance(5_000);
      const again = pool.usage();
      expect(m.calls).toHaveLength(i + 1);
      expect(await again).toEqual(UNKNOWN);
      advance(1);
    }
    expect(pool.metrics()).toMatchObject({ operations: 3, errors: 3 });
    // Three failed measurements in a row do not open the breaker: a store may take writes it cannot measure.
    expect(pool.breakerState).toBe('closed');
    // A measurement stopped by the caller is not the pool's failure.
    const interrupted = pool.usage();
    m.calls[3]!.fail(new StorageError('Interrupted', 'usage was interrupted'));
    expect(await interrupted).toEqual(UNKNOWN);
    expect(pool.metrics()).toMatchObject({ operations: 4, errors: 3 });
  });

  it('that never answers is given up after 10 minutes (a failure in the metrics), and the next one can start', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    const m = metered(await folder());
    const { pool, advance } = clocked(m.backend);
    const first = pool.usage();
    // usage() waits for the figure up to the pool's deadline (30 s here), then answers without it.
    await vi.advanceTimersByTimeAsync(30_000);
    expect(await first).toEqual(UNKNOWN);
    expect(m.calls).toHaveLength(1);
    await vi.advanceTimersByTimeAsync(10 * 60_000 - 30_000 - 1);
    expect(pool.metrics().operations).toBe(0);
    await vi.advanceTimersByTimeAsync(1);
    expect(pool.metrics()).toMatchObject({ operations: 1, errors: 1 });
    advance(5_001);
    const next = pool.usage();
    expect(m.calls).toHaveLength(2);
    m.calls[1]!.answer({ usedBytes: 3, totalBytes: 4 });
    expect(await next).toEqual({ usedBytes: 3, totalBytes: 4, percent: 75 });
    // Its 10-minute timer went with it.
    expect(vi.getTimerCount()).toBe(0);
  });

  it("is stopped by the owner's signal (Ctrl-C), which is not counted against the pool", async () => {
    const m = metered(await folder());
    const controller = new AbortController();
    const { pool } = clocked(m.backend, {}, { signal: controller.signal });
    const answer = pool.usage();
    expect(m.calls[0]!.signal).toBe(controller.signal);
    controller.abort();
    expect(await answer).toEqual(UNKNOWN);
    expect(pool.metrics()).toMatchObject({ operations: 1, errors: 0 });
  });
});

describe('the durations a pool reports', () => {
  it('of a measurement, a failed listing, a failed probe and a deleteMany stopped as a whole are no longer than the test saw pass', async () => {
    const started = performance.now();
    const m = metered(await folder());
    const { pool } = clocked(m.backend);
    const answer = pool.usage();
    m.calls[0]!.answer({ usedBytes: 1, totalBytes: 2 });
    await answer;
    const measured = pool.metrics().latencyMs.average!;
    expect(measured).toBeGreaterThanOrEqual(0);
    expect(measured).toBeLessThanOrEqual(performance.now() - started);

    const failing = metered(await folder());
    const f = clocked(failing.backend);
    const failed = f.pool.usage();
    failing.calls[0]!.fail(new StorageError('Unavailable', 'statfs failed'));
    await failed;
    expect(f.pool.metrics().latencyMs.average!).toBeLessThanOrEqual(performance.now() - started);

    const file = path.join(await folder(), 'file');
    await writeFile(file, 'not a folder');
    const broken = new StoragePool({ ...POOL_DEFAULTS, name: 'broken', retries: 0 }, local(file));
    const ops: PoolOperation[] = [];
    broken.onOperation((op) => ops.push(op));
    await expect((async () => {
      for await (const entry of broken.list('hls/')) void entry;
    })()).rejects.toMatchObject({ code: 'Unavailable' });
    await expect(broken.read('hls/a/1.ts')).rejects.toMatchObject({ code: 'Unavailable' });
    const probe = await broken.probe();
    expect(probe.ok).toBe(false);

    const good = new StoragePool({ ...POOL_DEFAULTS, name: 'good', retries: 0 }, local(await folder()));
    good.onOperation((op) => ops.push(op));
    const goodProbe = await good.probe();
    expect(goodProbe.ok).toBe(true);
    await good.write('hls/a/1.ts', Buffer.from('1'));
    expect((await good.deleteMany(['hls/a/1.ts'])).deleted).toEqual(['hls/a/1.ts']);

    const elapsed = performance.now() - started;
    expect(probe.latencyMs).toBeLessThanOrEqual(elapsed);
    expect(goodProbe.latencyMs).toBeLessThanOrEqual(elapsed);
    expect(ops.map((op) => `${op.pool} ${op.op} ${op.error?.code}`)).toEqual(['broken list Unavailable', 'broken read Unavailable', 'good write undefined', 'good delete undefined']);
    expect(ops.every((op) => op.durationMs >= 0 && op.durationMs <= elapsed)).toBe(true);
    // The failed listing, read and probe are the broken pool's three calls: all durations are real.
    expect(broken.metrics().latencyMs.p95!).toBeLessThanOrEqual(elapsed);
  });

  it('a deleteMany that fails as a whole (interrupted before it started) tells of a failed delete per key, with its duration', async () => {
    const started = performance.now();
    const pool = new StoragePool({ ...POOL_DEFAULTS, name: 'disk', retries: 0 }, local(await folder()));
    const ops: PoolOperation[] = [];
    const deletes: string[][] = [];
    pool.onOperation((op) => ops.push(op));
    pool.onDelete((keys) => deletes.push([...keys]));
    await pool.write('hls/a/1.ts', Buffer.from('1'));
    await expect(pool.deleteMany(['hls/a/1.ts', 'hls/a/2.ts'], { signal: AbortSignal.abort() })).rejects.toMatchObject({ code: 'Interrupted' });
    const elapsed = performance.now() - started;
    expect(ops.slice(1).map((op) => `${op.op} ${op.key} ${op.error?.code} ${op.error?.pool}`)).toEqual(['delete hls/a/1.ts Interrupted disk', 'delete hls/a/2.ts Interrupted disk']);
    expect(ops.every((op) => op.durationMs >= 0 && op.durationMs <= elapsed)).toBe(true);
    expect(deletes).toEqual([]);
    expect((await pool.read('hls/a/1.ts')).toString()).toBe('1');
  });
});

describe('an error of the backend', () => {
  it('gains the pool, its backend type and the key', async () => {
    const inner = local(await folder());
    const refusing = Object.assign(Object.create(inner) as StorageBackend, {
      type: inner.type,
      capabilities: inner.capabilities,
      read: async () => {
        throw new StorageError('PermissionDenied', 'refused');
      },
    });
    const pool = new StoragePool({ ...POOL_DEFAULTS, name: 'guarded', retries: 0 }, refusing);
    await expect(pool.read('hls/a/1.ts')).rejects.toMatchObject({ code: 'PermissionDenied', pool: 'guarded', backend: 'local', key: 'hls/a/1.ts', detail: 'refused' });
  });
});

describe('the probe of a store that answers with other bytes than were written', () => {
  it('fails as Corrupt, naming the difference, and opens the breaker', async () => {
    const inner = local(await folder());
    const lying = Object.assign(Object.create(inner) as StorageBackend, {
      type: inner.type,
      capabilities: inner.capabilities,
      read: async (key: string, options?: CallOptions) => Buffer.concat([await inner.read(key, options), Buffer.from('!')]),
    });
    const pool = new StoragePool({ ...POOL_DEFAULTS, name: 'lying', retries: 0 }, lying);
    const result = await pool.probe();
    expect(result).toMatchObject({ ok: false, mode: 'read-write', error: { code: 'Corrupt', pool: 'lying' } });
    expect(result.error?.message).toMatch(/the probe object read back differs from what was written/);
    expect(pool.breakerState).toBe('open');
  });
});
