// The pool policy: the one module that decides which pools may take a write (read-only, health,
// maxUsagePercent with the write's size), in what order pools are written and read, how a pool's
// health falls and recovers, and which code an error aggregated over several pools keeps. The
// manager, the pool and `pools status` all ask here; nothing else computes these.

import { isStorageError, StorageError, type StorageErrorCode } from '../errors.js';
import { compareNames } from '../keys.js';

// ---------------------------------------------------------------------------------------------
// Health: a circuit breaker per pool.

export type PoolHealth = 'healthy' | 'degraded' | 'unhealthy';

/**
 * closed: calls go through. open: the pool is known down until its back-off ends; writes skip it
 * and reads try it last. half-open: the back-off is over; one trial call may go through, and its
 * outcome closes the breaker (success) or opens it again with a doubled back-off (failure).
 */
export type BreakerState = 'closed' | 'open' | 'half-open';

export interface HealthOptions {
  /** This many failures in a row open the breaker (a failed probe opens it at once). */
  failuresToOpen: number;
  /** The first back-off; each failure of a half-open pool doubles it, up to maxBackoffMs. */
  baseBackoffMs: number;
  maxBackoffMs: number;
  /** Recent outcomes kept: any failure among them shows the pool as degraded. */
  window: number;
  /** The clock, injectable for tests. */
  now: () => number;
}

export const HEALTH_DEFAULTS: HealthOptions = {
  failuresToOpen: 3,
  baseBackoffMs: 5_000,
  maxBackoffMs: 60_000,
  window: 20,
  now: () => Date.now(),
};

/** Whether an error says something about the pool (not about the caller, the key, or Ctrl-C). */
export function countsAgainstPool(error: unknown): boolean {
  if (!isStorageError(error)) return true;
  return !['NotFound', 'InvalidKey', 'InvalidArgument', 'Interrupted'].includes(error.code);
}

export class HealthBreaker {
  private readonly options: HealthOptions;
  private readonly recent: boolean[] = [];
  private failuresInARow = 0;
  private openUntil: number | undefined;
  private backoffMs: number;
  /** When the trial call claimed in the half-open state stops counting as in flight. */
  private trialUntil: number | undefined;

  constructor(options: Partial<HealthOptions> = {}) {
    this.options = { ...HEALTH_DEFAULTS, ...options };
    this.backoffMs = this.options.baseBackoffMs;
  }

  get state(): BreakerState {
    if (this.openUntil === undefined) return 'closed';
    return this.options.now() < this.openUntil ? 'open' : 'half-open';
  }

  /** When an open pool may be tried again (undefined while closed). */
  get retryAt(): number | undefined {
    return this.openUntil;
  }

  /**
   * unhealthy while the breaker is open or half-open (until a call succeeds); degraded when a
   * recent call failed; healthy otherwise (a pool nothing was tried on yet is healthy).
   */
  get health(): PoolHealth {
    if (this.state !== 'closed') return 'unhealthy';
    return this.recent.includes(false) ? 'degraded' : 'healthy';
  }

  /** Whether the pool is known to be down now: open, or half-open with its trial call in flight. */
  get knownDown(): boolean {
    const state = this.state;
    return state === 'open' || (state === 'half-open' && this.trialInFlight());
  }

  /**
   * Claims the one trial call of a half-open pool: true for the first caller after the back-off
   * (until that call's outcome is recorded, or a back-off's length has passed), false for the rest.
   * A closed pool needs no claim (true); an open one gets none (false).
   */
  claimTrial(): boolean {
    const state = this.state;
    if (state === 'closed') return true;
    if (state === 'open' || this.trialInFlight()) return false;
    this.trialUntil = this.options.now() + this.backoffMs;
    return true;
  }

  /** One call's outcome. `probe`: a failed probe opens the breaker at once. */
  record(ok: boolean, kind: 'call' | 'probe' = 'call'): void {
    this.recent.push(ok);
    if (this.recent.length > this.options.window) this.recent.shift();
    this.trialUntil = undefined;
    if (ok) {
      this.failuresInARow = 0;
      this.openUntil = undefined;
      this.backoffMs = this.options.baseBackoffMs;
      return;
    }
    this.failuresInARow++;
    const state = this.state;
    if (state === 'half-open') this.backoffMs = Math.min(this.backoffMs * 2, this.options.maxBackoffMs);
    if (state !== 'closed' || kind === 'probe' || this.failuresInARow >= this.options.failuresToOpen) {
      this.openUntil = this.options.now() + this.backoffMs;
    }
  }

  private trialInFlight(): boolean {
    return this.trialUntil !== undefined && this.options.now() < this.trialUntil;
  }
}

// ---------------------------------------------------------------------------------------------
// Write eligibility and order.

/** What the policy reads of one pool. */
export interface PoolFacts {
  name: string;
  priority: number;
  readOnly: boolean;
  maxUsagePercent: number;
  breaker: BreakerState;
  /** Last known usage; undefined or nulls where unknown (unknown never blocks a write). */
  usage: { usedBytes: number | null; totalBytes: number | null } | undefined;
}

export type SkipReason = 'read-only' | 'unhealthy' | 'full';

export interface WriteSkip {
  pool: string;
  reason: SkipReason;
  /** For people: why, with the figures. */
  detail: string;
}

/** usedBytes (+ extraBytes) / totalBytes in percent; null when either is unknown or total is 0. */
export function usagePercent(usage: PoolFacts['usage'], extraBytes = 0): number | null {
  if (usage === undefined || usage.usedBytes === null || !usage.totalBytes) return null;
  return ((usage.usedBytes + extraBytes) / usage.totalBytes) * 100;
}

/**
 * Why the pool takes no write of `size` bytes, or undefined when it may take it. A read-only pool
 * never does; an open breaker refuses (a half-open one may take its trial call); a write that
 * would take known usage above maxUsagePercent is refused (at exactly the limit it is taken).
 * `pools status` asks with size 0: a pool already over its limit.
 */
export function writeRefusal(pool: PoolFacts, size: number): WriteSkip | undefined {
  if (pool.readOnly) return { pool: pool.name, reason: 'read-only', detail: 'read-only (readOnly: true in its config)' };
  if (pool.breaker === 'open') return { pool: pool.name, reason: 'unhealthy', detail: 'unhealthy (recent calls failed; it is retried after a back-off)' };
  const after = usagePercent(pool.usage, size);
  if (after !== null && after > pool.maxUsagePercent) {
    const what = size === 0 ? `${after.toFixed(1)}% full` : `would be ${after.toFixed(1)}% full`;
    return { pool: pool.name, reason: 'full', detail: `${what}, over its ${pool.maxUsagePercent}% limit (maxUsagePercent)` };
  }
  return undefined;
}

/**
 * Pools that may take a write of `size`, best first: lowest priority number; among equals, a
 * closed breaker before a half-open one, then the least used (unknown usage after known), then by
 * name. The others are returned with why they were skipped, in the given order.
 */
export function planWrite<P extends PoolFacts>(pools: readonly P[], size: number): { eligible: P[]; skipped: WriteSkip[] } {
  const skipped: WriteSkip[] = [];
  const eligible: P[] = [];
  for (const pool of pools) {
    const refusal = writeRefusal(pool, size);
    if (refusal === undefined) eligible.push(pool);
    else skipped.push(refusal);
  }
  const percent = (p: P): number => usagePercent(p.usage) ?? Infinity;
  const halfOpen = (p: P): number => (p.breaker === 'half-open' ? 1 : 0);
  eligible.sort((a, b) => a.priority - b.priority || halfOpen(a) - halfOpen(b) || compareUsage(percent(a), percent(b)) || compareNames(a.name, b.name));
  return { eligible, skipped };
}

function compareUsage(a: number, b: number): number {
  return a === b ? 0 : a < b ? -1 : 1;
}

/** A write to a pool chosen explicitly (`put --pool`, `migrate --to`) is refused when it is read-only. */
export function assertWritable(pool: { name: string; readOnly: boolean }): void {
  if (pool.readOnly) {
    throw new StorageError('InvalidArgument', `pool "${pool.name}" is read-only (readOnly: true in its config): it takes no writes; nothing was written`, {
      pool: pool.name,
    });
  }
}

/** Priority order: lowest priority number first, equal priorities by name (code point order). */
export function comparePriority(a: { name: string; priority: number }, b: { name: string; priority: number }): number {
  return a.priority - b.priority || compareNames(a.name, b.name);
}

// ---------------------------------------------------------------------------------------------
// Read order.

export interface ReadFacts {
  name: string;
  /** Open, or half-open with its trial in flight: a call would likely wait for its timeout. */
  knownDown: boolean;
}

/**
 * The order to read a key from `pools` (given in priority order): the pool this process last
 * wrote the key to first (stale copies in pools before it were removed by that write), then the
 * others in priority order; pools known to be down go last, still tried before "not found" is
 * answered, because "could not tell" must never read as "absent". Pools in `stale` (known to hold
 * an older copy of the key) are left out while another pool can answer.
 */
export function readOrder<P extends ReadFacts>(pools: readonly P[], options: { wroteTo?: string | undefined; stale?: ReadonlySet<string> | undefined } = {}): P[] {
  const stale = options.stale;
  const fresh = stale === undefined ? [...pools] : pools.filter((p) => !stale.has(p.name));
  const candidates = fresh.length === 0 ? [...pools] : fresh;
  const up = candidates.filter((p) => !p.knownDown);
  const down = candidates.filter((p) => p.knownDown);
  const first = up.findIndex((p) => p.name === options.wroteTo);
  if (first > 0) up.unshift(...up.splice(first, 1));
  return [...up, ...down];
}

// ---------------------------------------------------------------------------------------------
// Errors aggregated across pools.

/**
 * The code of a failure over several pools, most telling first: an interruption; then what says
 * what is wrong (Corrupt, QuotaExceeded, PermissionDenied, InvalidKey, InvalidArgument,
 * Unsupported, ConfigInvalid, NotFound, Internal); then what says "try again" (RateLimited,
 * Timeout, Unavailable). Every pool with one code gives that code.
 */
const PRECEDENCE: readonly StorageErrorCode[] = [
  'Interrupted',
  'Corrupt',
  'QuotaExceeded',
  'PermissionDenied',
  'InvalidKey',
  'InvalidArgument',
  'Unsupported',
  'ConfigInvalid',
  'NotFound',
  'Internal',
  'RateLimited',
  'Timeout',
  'Unavailable',
];

/**
 * The code and retryable flag an aggregate of these failures keeps: the most telling code (see
 * PRECEDENCE), retryable when any failure is (another attempt may reach the pool that failed for
 * a passing reason). No failures: Unavailable.
 */
export function aggregateFailure(codes: readonly { code: StorageErrorCode; retryable: boolean }[]): { code: StorageErrorCode; retryable: boolean } {
  if (codes.length === 0) return { code: 'Unavailable', retryable: true };
  const code = PRECEDENCE.find((c) => codes.some((f) => f.code === c)) ?? codes[0]!.code;
  return { code, retryable: codes.some((f) => f.retryable) };
}

/** The code a skipped pool contributes to a write that no pool took. */
export function skipCode(reason: SkipReason): { code: StorageErrorCode; retryable: boolean } {
  if (reason === 'full') return { code: 'QuotaExceeded', retryable: false };
  if (reason === 'read-only') return { code: 'InvalidArgument', retryable: false };
  return { code: 'Unavailable', retryable: true };
}
