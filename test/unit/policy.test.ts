// The pool policy on its own: each rule at its boundaries, the breaker's timing on an injected
// clock, ordering ties, the aggregated error code.

import { describe, expect, it } from 'vitest';
import { StorageError } from '../../src/errors.js';
import {
  aggregateFailure,
  assertWritable,
  countsAgainstPool,
  HealthBreaker,
  planWrite,
  readOrder,
  skipCode,
  usagePercent,
  writeRefusal,
  type PoolFacts,
} from '../../src/pool/policy.js';

function facts(name: string, extra: Partial<PoolFacts> = {}): PoolFacts {
  return { name, priority: 1, readOnly: false, maxUsagePercent: 90, breaker: 'closed', usage: undefined, ...extra };
}

function clock(start = 1_000_000) {
  let now = start;
  return { now: () => now, advance: (ms: number) => (now += ms) };
}

describe('usagePercent', () => {
  it('is used (+ extra) over total, null when either is unknown or the total is 0', () => {
    expect(usagePercent({ usedBytes: 25, totalBytes: 100 })).toBe(25);
    expect(usagePercent({ usedBytes: 25, totalBytes: 100 }, 5)).toBe(30);
    expect(usagePercent({ usedBytes: null, totalBytes: 100 })).toBeNull();
    expect(usagePercent({ usedBytes: 5, totalBytes: null })).toBeNull();
    expect(usagePercent({ usedBytes: 5, totalBytes: 0 })).toBeNull();
    expect(usagePercent(undefined)).toBeNull();
  });
});

describe('writeRefusal', () => {
  it('takes a write that lands exactly at maxUsagePercent, refuses one byte more', () => {
    const pool = facts('p', { maxUsagePercent: 80, usage: { usedBytes: 70, totalBytes: 100 } });
    expect(writeRefusal(pool, 10)).toBeUndefined();
    expect(writeRefusal(pool, 11)).toEqual({ pool: 'p', reason: 'full', detail: 'would be 81.0% full, over its 80% limit (maxUsagePercent)' });
  });

  it('counts the write size: a pool under its limit refuses a write that would take it over', () => {
    const pool = facts('p', { maxUsagePercent: 50, usage: { usedBytes: 40, totalBytes: 100 } });
    expect(writeRefusal(pool, 0)).toBeUndefined();
    expect(writeRefusal(pool, 20)?.reason).toBe('full');
  });

  it('with size 0 (pools status) names a pool already over its limit', () => {
    expect(writeRefusal(facts('p', { maxUsagePercent: 50, usage: { usedBytes: 51, totalBytes: 100 } }), 0)?.detail).toBe('51.0% full, over its 50% limit (maxUsagePercent)');
    expect(writeRefusal(facts('p', { maxUsagePercent: 50, usage: { usedBytes: 50, totalBytes: 100 } }), 0)).toBeUndefined();
  });

  it('never refuses on unknown usage', () => {
    expect(writeRefusal(facts('p', { maxUsagePercent: 0, usage: { usedBytes: null, totalBytes: null } }), 1_000_000)).toBeUndefined();
    expect(writeRefusal(facts('p', { maxUsagePercent: 0, usage: undefined }), 1_000_000)).toBeUndefined();
  });

  it('refuses a read-only pool whatever its usage, and an open one; a half-open one may take its trial', () => {
    expect(writeRefusal(facts('p', { readOnly: true }), 1)?.reason).toBe('read-only');
    expect(writeRefusal(facts('p', { breaker: 'open' }), 1)?.reason).toBe('unhealthy');
    expect(writeRefusal(facts('p', { breaker: 'half-open' }), 1)).toBeUndefined();
    expect(writeRefusal(facts('p', { readOnly: true, breaker: 'open' }), 1)?.reason).toBe('read-only');
  });
});

describe('planWrite', () => {
  it('orders by priority first, whatever the usage', () => {
    const { eligible } = planWrite(
      [facts('b', { priority: 2, usage: { usedBytes: 0, totalBytes: 100 } }), facts('a', { priority: 1, usage: { usedBytes: 80, totalBytes: 100 } })],
      1,
    );
    expect(eligible.map((p) => p.name)).toEqual(['a', 'b']);
  });

  it('breaks a priority tie: closed before half-open, then least used, unknown usage after known, then by name', () => {
    const pools = [
      facts('unknown'),
      facts('fuller', { usage: { usedBytes: 50, totalBytes: 100 } }),
      facts('trial', { breaker: 'half-open', usage: { usedBytes: 0, totalBytes: 100 } }),
      facts('emptier', { usage: { usedBytes: 10, totalBytes: 100 } }),
      facts('b-same', { usage: { usedBytes: 30, totalBytes: 100 } }),
      facts('a-same', { usage: { usedBytes: 30, totalBytes: 100 } }),
    ];
    expect(planWrite(pools, 1).eligible.map((p) => p.name)).toEqual(['emptier', 'a-same', 'b-same', 'fuller', 'unknown', 'trial']);
  });

  it('returns the skipped pools with their reasons, in the order given', () => {
    const { eligible, skipped } = planWrite(
      [facts('ro', { readOnly: true }), facts('down', { breaker: 'open' }), facts('full', { maxUsagePercent: 10, usage: { usedBytes: 10, totalBytes: 100 } }), facts('ok')],
      1,
    );
    expect(eligible.map((p) => p.name)).toEqual(['ok']);
    expect(skipped.map((s) => [s.pool, s.reason])).toEqual([
      ['ro', 'read-only'],
      ['down', 'unhealthy'],
      ['full', 'full'],
    ]);
  });
});

describe('assertWritable', () => {
  it('refuses a read-only pool with InvalidArgument naming it, and lets a writable one pass', () => {
    expect(() => assertWritable({ name: 'archive', readOnly: true })).toThrow(expect.objectContaining({ code: 'InvalidArgument', pool: 'archive' }));
    expect(() => assertWritable({ name: 'archive', readOnly: true })).toThrow(/read-only.*nothing was written/);
    expect(() => assertWritable({ name: 'ssd', readOnly: false })).not.toThrow();
  });
});

describe('HealthBreaker', () => {
  it('is healthy and closed before anything happened', () => {
    const breaker = new HealthBreaker();
    expect([breaker.state, breaker.health, breaker.knownDown, breaker.retryAt]).toEqual(['closed', 'healthy', false, undefined]);
    expect(breaker.claimTrial()).toBe(true);
  });

  it('opens after exactly failuresToOpen failures in a row; a success between resets the count', () => {
    const breaker = new HealthBreaker({ failuresToOpen: 3 });
    breaker.record(false);
    breaker.record(false);
    expect([breaker.state, breaker.health]).toEqual(['closed', 'degraded']);
    breaker.record(true);
    breaker.record(false);
    breaker.record(false);
    expect(breaker.state).toBe('closed');
    breaker.record(false);
    expect([breaker.state, breaker.health, breaker.knownDown]).toEqual(['open', 'unhealthy', true]);
  });

  it('opens at once on a failed probe', () => {
    const breaker = new HealthBreaker();
    breaker.record(false, 'probe');
    expect(breaker.state).toBe('open');
  });

  it('is half-open exactly when the back-off ends, and gives one trial call', () => {
    const time = clock();
    const breaker = new HealthBreaker({ baseBackoffMs: 1000, now: time.now });
    breaker.record(false, 'probe');
    expect(breaker.retryAt).toBe(time.now() + 1000);
    time.advance(999);
    expect(breaker.state).toBe('open');
    expect(breaker.claimTrial()).toBe(false);
    time.advance(1);
    expect([breaker.state, breaker.knownDown, breaker.health]).toEqual(['half-open', false, 'unhealthy']);
    expect(breaker.claimTrial()).toBe(true);
    expect(breaker.knownDown).toBe(true);
    expect(breaker.claimTrial()).toBe(false);
  });

  it('a trial claim that never reports lapses after one back-off', () => {
    const time = clock();
    const breaker = new HealthBreaker({ baseBackoffMs: 1000, now: time.now });
    breaker.record(false, 'probe');
    time.advance(1000);
    expect(breaker.claimTrial()).toBe(true);
    time.advance(999);
    expect(breaker.claimTrial()).toBe(false);
    time.advance(1);
    expect(breaker.claimTrial()).toBe(true);
  });

  it('recovers on one success: closed, healthy count reset, back-off back to its base', () => {
    const time = clock();
    const breaker = new HealthBreaker({ baseBackoffMs: 1000, window: 2, now: time.now });
    breaker.record(false, 'probe');
    time.advance(1000);
    breaker.claimTrial();
    breaker.record(false);
    time.advance(2000);
    breaker.claimTrial();
    breaker.record(true);
    expect([breaker.state, breaker.health, breaker.retryAt]).toEqual(['closed', 'degraded', undefined]);
    breaker.record(true);
    expect(breaker.health).toBe('healthy');
    breaker.record(false, 'probe');
    expect(breaker.retryAt).toBe(time.now() + 1000);
  });

  it('doubles the back-off on each failed trial, up to maxBackoffMs; a failure while open extends without doubling', () => {
    const time = clock();
    const breaker = new HealthBreaker({ baseBackoffMs: 1000, maxBackoffMs: 3000, now: time.now });
    breaker.record(false, 'probe');
    time.advance(500);
    breaker.record(false);
    expect(breaker.retryAt).toBe(time.now() + 1000);
    time.advance(1000);
    breaker.record(false);
    expect(breaker.retryAt).toBe(time.now() + 2000);
    time.advance(2000);
    breaker.record(false);
    expect(breaker.retryAt).toBe(time.now() + 3000);
    time.advance(3000);
    breaker.record(false);
    expect(breaker.retryAt).toBe(time.now() + 3000);
  });

  it('shows degraded while a failure is within the window of recent outcomes', () => {
    const breaker = new HealthBreaker({ window: 3 });
    breaker.record(false);
    breaker.record(true);
    breaker.record(true);
    expect(breaker.health).toBe('degraded');
    breaker.record(true);
    expect(breaker.health).toBe('healthy');
  });
});

describe('countsAgainstPool', () => {
  it('a missing key, a bad key or argument, an interruption say nothing of the pool; the rest do', () => {
    for (const code of ['NotFound', 'InvalidKey', 'InvalidArgument', 'Interrupted'] as const) expect(countsAgainstPool(new StorageError(code, 'x'))).toBe(false);
    for (const code of ['Unavailable', 'Timeout', 'PermissionDenied', 'QuotaExceeded', 'Corrupt', 'Internal'] as const) expect(countsAgainstPool(new StorageError(code, 'x'))).toBe(true);
    expect(countsAgainstPool(new Error('native'))).toBe(true);
  });
});

describe('readOrder', () => {
  const pool = (name: string, knownDown = false) => ({ name, knownDown });

  it('keeps priority order, with pools known down moved last (still tried)', () => {
    expect(readOrder([pool('a', true), pool('b'), pool('c', true), pool('d')]).map((p) => p.name)).toEqual(['b', 'd', 'a', 'c']);
  });

  it('puts the pool this process last wrote the key to first, unless it is known down', () => {
    expect(readOrder([pool('a'), pool('b'), pool('c')], { wroteTo: 'c' }).map((p) => p.name)).toEqual(['c', 'a', 'b']);
    expect(readOrder([pool('a'), pool('b'), pool('c', true)], { wroteTo: 'c' }).map((p) => p.name)).toEqual(['a', 'b', 'c']);
    expect(readOrder([pool('a'), pool('b')], { wroteTo: 'gone' }).map((p) => p.name)).toEqual(['a', 'b']);
  });

  it('leaves out pools known to hold an older copy, unless no other pool is left', () => {
    expect(readOrder([pool('a'), pool('b')], { stale: new Set(['a']) }).map((p) => p.name)).toEqual(['b']);
    expect(readOrder([pool('a')], { stale: new Set(['a']) }).map((p) => p.name)).toEqual(['a']);
  });
});

describe('aggregateFailure', () => {
  const f = (code: StorageError['code'], retryable = false) => ({ code, retryable });

  it('keeps a code every pool gave: all PermissionDenied stays PermissionDenied, not retryable', () => {
    expect(aggregateFailure([f('PermissionDenied'), f('PermissionDenied')])).toEqual({ code: 'PermissionDenied', retryable: false });
    expect(aggregateFailure([f('NotFound'), f('NotFound')])).toEqual({ code: 'NotFound', retryable: false });
    expect(aggregateFailure([f('Timeout', true), f('Timeout', true)])).toEqual({ code: 'Timeout', retryable: true });
  });

  it('mixed: the code that says what is wrong beats "try again"; retryable when any failure is', () => {
    expect(aggregateFailure([f('Unavailable', true), f('PermissionDenied')])).toEqual({ code: 'PermissionDenied', retryable: true });
    expect(aggregateFailure([f('QuotaExceeded'), f('PermissionDenied')])).toEqual({ code: 'QuotaExceeded', retryable: false });
    expect(aggregateFailure([f('Unavailable', true), f('Timeout', true)])).toEqual({ code: 'Timeout', retryable: true });
    expect(aggregateFailure([f('Unavailable', true), f('RateLimited', true)])).toEqual({ code: 'RateLimited', retryable: true });
    expect(aggregateFailure([f('Corrupt'), f('Interrupted')])).toEqual({ code: 'Interrupted', retryable: false });
    expect(aggregateFailure([f('Internal'), f('Unavailable', true)])).toEqual({ code: 'Internal', retryable: true });
  });

  it('with nothing to go on: Unavailable, retryable', () => {
    expect(aggregateFailure([])).toEqual({ code: 'Unavailable', retryable: true });
  });

  it('a skipped pool contributes: full QuotaExceeded, read-only InvalidArgument, unhealthy Unavailable', () => {
    expect(skipCode('full')).toEqual({ code: 'QuotaExceeded', retryable: false });
    expect(skipCode('read-only')).toEqual({ code: 'InvalidArgument', retryable: false });
    expect(skipCode('unhealthy')).toEqual({ code: 'Unavailable', retryable: true });
    expect(aggregateFailure([skipCode('read-only'), skipCode('read-only')]).code).toBe('InvalidArgument');
  });
});
