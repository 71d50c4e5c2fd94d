// What Stryker found unasserted in src/pool (test/MUTATION.md): a pool's metrics (counts, bytes, the
// latency window), the breaker's states on an injected clock, the write order's tie-breaks and
// refusal lines, the aggregated error's full precedence, and the removal of older copies after a
// write that failed over (which pools, what is remembered, its retry, its bound), on local pools.

import { mkdtemp, readFile, writeFile, mkdir } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { LocalBackend } from '../../src/backends/local/index.js';
import type { StorageErrorCode } from '../../src/errors.js';
import { MetricsTracker } from '../../src/pool/health.js';
import { aggregateFailure, HealthBreaker, planWrite, writeRefusal, type PoolFacts } from '../../src/pool/policy.js';
import { POOL_DEFAULTS, StoragePool } from '../../src/pool/pool.js';
import { StaleCopies } from '../../src/pool/stale.js';

describe('pool metrics', () => {
  it('are zero and null before any call', () => {
    expect(new MetricsTracker().metrics()).toEqual({ operations: 0, errors: 0, bytesWritten: 0, bytesRead: 0, latencyMs: { average: null, p95: null } });
  });

  it('count calls, failures and bytes, and sort the latencies for the average and p95', () => {
    const tracker = new MetricsTracker();
    tracker.record(true, 5, { written: 100 });
    tracker.record(false, 1);
    tracker.record(true, 3, { read: 40 });
    tracker.record(true, 3, { written: 10, read: 2 });
    expect(tracker.metrics()).toEqual({ operations: 4, errors: 1, bytesWritten: 110, bytesRead: 42, latencyMs: { average: 3, p95: 5 } });
  });

  it('keep the latencies of the last 20 calls only', () => {
    const tracker = new MetricsTracker();
    tracker.record(true, 1000);
    for (let i = 0; i < 19; i++) tracker.record(true, 1);
    // 20 calls: all in the window.
    expect(tracker.metrics().latencyMs).toEqual({ average: (1000 + 19) / 20, p95: 1000 });
    tracker.record(true, 1);
    // The 21st pushes the first out.
    expect(tracker.metrics().latencyMs).toEqual({ average: 1, p95: 1 });
    expect(tracker.metrics().operations).toBe(21);
  });

  it('of a local pool: bytes written and read, and a failed call', async () => {
    const root = await mkdtemp(path.join(tmpdir(), 'flux-metrics-'));
    const pool = new StoragePool({ ...POOL_DEFAULTS, name: 'disk' }, new LocalBackend({ type: 'local', root, fsync: false, concurrency: 4 }));
    await pool.write('hls/cam1/segment_1.ts', Buffer.alloc(300, 1));
    await pool.read('hls/cam1/segment_1.ts');
    const file = path.join(tmpdir(), `flux-metrics-file-${process.pid}`);
    await writeFile(file, 'x');
    const broken = new StoragePool({ ...POOL_DEFAULTS, name: 'broken', retries: 0 }, new LocalBackend({ type: 'local', root: file, fsync: false, concurrency: 4 }));
    await expect(broken.read('hls/cam1/segment_1.ts')).rejects.toMatchObject({ code: 'Unavailable' });
    expect(pool.metrics()).toMatchObject({ operations: 2, errors: 0, bytesWritten: 300, bytesRead: 300 });
    expect(broken.metrics()).toMatchObject({ operations: 1, errors: 1, bytesWritten: 0, bytesRead: 0 });
  });
});

describe('the breaker', () => {
  function clock(start = 1_000_000) {
    let now = start;
    return { now: () => now, advance: (ms: number) => (now += ms) };
  }

  it('is known down only while open, or half-open with its trial in flight; a trial stops counting after a back-off', () => {
    const time = clock();
    const breaker = new HealthBreaker({ now: time.now, baseBackoffMs: 1000 });
    expect(breaker.knownDown).toBe(false);
    for (let i = 0; i < 3; i++) breaker.record(false);
    expect(breaker.state).toBe('open');
    expect(breaker.knownDown).toBe(true);
    time.advance(1000);
    expect(breaker.state).toBe('half-open');
    expect(breaker.knownDown).toBe(false);
    expect(breaker.claimTrial()).toBe(true);
    expect(breaker.knownDown).toBe(true);
    expect(breaker.claimTrial()).toBe(false);
    // The trial never reported back: after a back-off's length another caller may try.
    time.advance(1000);
    expect(breaker.knownDown).toBe(false);
    expect(breaker.claimTrial()).toBe(true);
    breaker.record(true);
    expect(breaker.state).toBe('closed');
    expect(breaker.knownDown).toBe(false);
  });
});

describe('the write order and its refusals', () => {
  const facts = (name: string, extra: Partial<PoolFacts> = {}): PoolFacts => ({ name, priority: 1, readOnly: false, maxUsagePercent: 90, breaker: 'closed', usage: undefined, ...extra });

  it('puts a closed pool before a half-open one of the same priority, whatever the order given', () => {
    for (const pools of [
      [facts('b', { breaker: 'half-open' }), facts('a')],
      [facts('a'), facts('b', { breaker: 'half-open' })],
    ]) {
      expect(planWrite(pools, 1).eligible.map((p) => p.name)).toEqual(['a', 'b']);
    }
    expect(planWrite([facts('a', { breaker: 'half-open' }), facts('b')], 1).eligible.map((p) => p.name)).toEqual(['b', 'a']);
  });

  it('says why a read-only or unhealthy pool takes no write', () => {
    expect(writeRefusal(facts('archive', { readOnly: true }), 1)).toEqual({ pool: 'archive', reason: 'read-only', detail: 'read-only (readOnly: true in its config)' });
    expect(writeRefusal(facts('s3', { breaker: 'open' }), 1)).toEqual({ pool: 's3', reason: 'unhealthy', detail: 'unhealthy (recent calls failed; it is retried after a back-off)' });
  });
});

describe('the aggregated error code', () => {
  const ORDER: StorageErrorCode[] = ['Interrupted', 'Corrupt', 'QuotaExceeded', 'PermissionDenied', 'InvalidKey', 'InvalidArgument', 'Unsupported', 'ConfigInvalid', 'NotFound', 'Internal', 'RateLimited', 'Timeout', 'Unavailable'];

  it('keeps the more telling of any two codes, in the documented order', () => {
    for (let i = 0; i + 1 < ORDER.length; i++) {
      const [more, less] = [ORDER[i]!, ORDER[i + 1]!];
      expect(aggregateFailure([{ code: less, retryable: false }, { code: more, retryable: false }]).code, `${more} over ${less}`).toBe(more);
    }
  });
});

describe('older copies after a write that failed over', () => {
  async function localPool(name: string, options: { root?: string; retries?: number } = {}): Promise<{ pool: StoragePool; root: string }> {
    const root = options.root ?? (await mkdtemp(path.join(tmpdir(), `flux-stale-${name}-`)));
    const pool = new StoragePool({ ...POOL_DEFAULTS, name, retries: options.retries ?? 0 }, new LocalBackend({ type: 'local', root, fsync: false, concurrency: 4 }));
    return { pool, root };
  }

  const KEY = 'hls/cam1/index.m3u8';

  async function holding(name: string): Promise<{ pool: StoragePool; root: string }> {
    const made = await localPool(name);
    await made.pool.write(KEY, Buffer.from(`old in ${name}`));
    return made;
  }

  /** A pool whose root is missing: every call fails Unavailable; three in a row open its breaker. */
  async function downPool(name: string): Promise<{ pool: StoragePool; root: string; bringUp(): Promise<void> }> {
    const root = path.join(await mkdtemp(path.join(tmpdir(), `flux-stale-${name}-`)), 'missing');
    const { pool } = await localPool(name, { root });
    for (let i = 0; i < 3; i++) await pool.read(KEY).catch(() => undefined);
    expect(pool.knownDown).toBe(true);
    return {
      pool,
      root,
      bringUp: async () => {
        await mkdir(path.dirname(path.join(root, KEY)), { recursive: true });
        await writeFile(path.join(root, KEY), `old in ${name}`);
        await pool.read(KEY).catch(() => undefined);
      },
    };
  }

  const different = async () => false;

  it('deletes the key from the pools read before the landed one and from the previous one, nowhere else', async () => {
    const [a, b, c, d, e] = await Promise.all(['a', 'b', 'c', 'd', 'e'].map(holding));
    const stale = new StaleCopies([a!.pool, b!.pool, c!.pool, d!.pool, e!.pool], different);
    expect(await stale.afterWrite(KEY, c!.pool, 'd')).toEqual([]);
    expect([a, b, c, d, e].map((p) => existsSync(path.join(p!.root, KEY)))).toEqual([false, false, true, false, true]);
    expect(stale.has(KEY)).toBe(false);
    expect(stale.poolsOf(KEY)).toBeUndefined();
  });

  it('remembers a copy in a pool known to be down, names it, and forgets it on demand', async () => {
    const down = await downPool('down');
    const landed = await holding('landed');
    const stale = new StaleCopies([down.pool, landed.pool], different);
    const failures = await stale.afterWrite(KEY, landed.pool, undefined);
    expect(failures).toHaveLength(1);
    expect(failures[0]!.pool).toBe('down');
    expect(failures[0]!.error).toMatchObject({ code: 'Unavailable', pool: 'down', backend: 'local', key: KEY, detail: 'an older copy may remain: the pool is down (it is retried after its back-off)' });
    expect(stale.has(KEY)).toBe(true);
    expect([...stale.poolsOf(KEY)!]).toEqual(['down']);
    stale.forget(KEY);
    expect(stale.has(KEY)).toBe(false);
    expect(stale.poolsOf(KEY)).toBeUndefined();
  });

  it('a delete that fails keeps its code and reason, and the copy is remembered', async () => {
    const file = path.join(await mkdtemp(path.join(tmpdir(), 'flux-stale-')), 'file');
    await writeFile(file, 'not a folder');
    const { pool: broken } = await localPool('broken', { root: file });
    const landed = await holding('landed');
    const stale = new StaleCopies([broken, landed.pool], different);
    const failures = await stale.afterWrite(KEY, landed.pool, undefined);
    expect(failures.map((f) => f.pool)).toEqual(['broken']);
    expect(failures[0]!.error).toMatchObject({ code: 'Unavailable', pool: 'broken', key: KEY, retryable: false, detail: `an older copy may remain: the root ${file} is not a directory` });
    expect([...stale.poolsOf(KEY)!]).toEqual(['broken']);
  });

  it('retries the removal from the very pool that held it once it is up; a pool still down stays remembered', async () => {
    const first = await holding('first');
    const down = await downPool('second');
    const landed = await holding('third');
    const stale = new StaleCopies([first.pool, down.pool, landed.pool], different);
    expect((await stale.afterWrite(KEY, landed.pool, undefined)).map((f) => f.pool)).toEqual(['second']);
    // Nothing to retry for an unknown key, or without the pool that holds the new copy.
    await stale.retry('hls/other/index.m3u8', landed.pool);
    await stale.retry(KEY, undefined);
    expect([...stale.poolsOf(KEY)!]).toEqual(['second']);
    // Still down: still remembered.
    await stale.retry(KEY, landed.pool);
    expect([...stale.poolsOf(KEY)!]).toEqual(['second']);
    await down.bringUp();
    expect(down.pool.knownDown).toBe(false);
    await stale.retry(KEY, landed.pool);
    expect(existsSync(path.join(down.root, KEY))).toBe(false);
    expect(stale.has(KEY)).toBe(false);
    expect((await readFile(path.join(landed.root, KEY))).toString()).toBe('old in third');
  });

  it('asks whether two pools are one store once per pair', async () => {
    const [a, b] = await Promise.all(['a', 'b'].map(holding));
    let asked = 0;
    const stale = new StaleCopies([a!.pool, b!.pool], async () => {
      asked++;
      return false;
    });
    await stale.afterWrite(KEY, b!.pool, undefined);
    await a!.pool.write(KEY, Buffer.from('again'));
    await stale.afterWrite(KEY, b!.pool, undefined);
    expect(asked).toBe(1);
    expect(existsSync(path.join(a!.root, KEY))).toBe(false);
  });

  it('remembers each pair’s answer, whichever way round, and never another pair’s', async () => {
    // Names chosen so that joined without a separator two pairs would read alike: "ab"+"c", "a"+"bc".
    const [a, ab, bc, c] = await Promise.all(['a', 'ab', 'bc', 'c'].map(holding));
    const asked: string[] = [];
    const sameAs = new Set(['a|bc', 'bc|a']);
    const stale = new StaleCopies([ab!.pool, c!.pool, a!.pool, bc!.pool], async (x, y) => {
      asked.push(`${x.name}|${y.name}`);
      return sameAs.has(`${x.name}|${y.name}`);
    });
    // "ab" and "c" are different stores: c's copy goes.
    await stale.afterWrite(KEY, ab!.pool, 'c');
    expect(existsSync(path.join(c!.root, KEY))).toBe(false);
    // "a" and "bc" are one store: nothing is deleted, although "ab|c" was answered "different".
    await stale.afterWrite(KEY, a!.pool, 'bc');
    expect(existsSync(path.join(bc!.root, KEY))).toBe(true);
    // The other way round, the same pair: not asked again.
    await c!.pool.write(KEY, Buffer.from('again'));
    await stale.afterWrite(KEY, c!.pool, 'ab');
    expect(asked.filter((p) => p === 'c|ab' || p === 'ab|c')).toHaveLength(1);
  });

  it('remembers at most 10,000 keys, forgetting the oldest first', async () => {
    const down = await downPool('down');
    const { pool: landed } = await localPool('landed');
    const stale = new StaleCopies([down.pool, landed], different);
    const key = (i: number) => `hls/cam${i}/index.m3u8`;
    for (let i = 0; i < 10_000; i++) await stale.afterWrite(key(i), landed, undefined);
    expect(stale.has(key(0))).toBe(true);
    await stale.afterWrite(key(10_000), landed, undefined);
    expect(stale.has(key(0))).toBe(false);
    expect(stale.has(key(1))).toBe(true);
    expect(stale.has(key(10_000))).toBe(true);
  });
});
