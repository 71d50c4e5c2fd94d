// StoragePool: one configured backend with its priority, usage limit, health and metrics. Every
// call goes through the layers (timeout, retry) and is counted here; errors gain the pool's name.
// What the counts mean (health, back-off, write eligibility) is decided in policy.ts.

import { hostname } from 'node:os';
import type { BackendUsage, CallOptions, DeleteManyResult, ObjectInfo, ReadOptions, ReadStreamOptions, StorageBackend, WriteOptions, WriteReceipt } from '../backends/types.js';
import { isStorageError, StorageError, toStorageError } from '../errors.js';
import { RESERVED_PREFIX } from '../keys.js';
import { applyLayers } from '../layers/index.js';
import { MetricsTracker, type PoolMetrics, type ProbeResult } from './health.js';
import { assertWritable, countsAgainstPool, HealthBreaker, type BreakerState, type HealthOptions, type PoolFacts, type PoolHealth } from './policy.js';

export interface PoolConfig {
  /** Unique name, used by --pool and in every message. */
  name: string;
  /** Lower numbers are preferred for writes and read first (1 before 2). */
  priority: number;
  /** Writes go elsewhere once a write would take usage above this percent (where usage is known). */
  maxUsagePercent: number;
  /** A read-only pool is read, listed and cleaned, but never written: a write to it is refused (InvalidArgument). */
  readOnly: boolean;
  /** Deadline of one backend call. */
  timeoutMs: number;
  /** Retries of transient failures, for backends whose SDK does not retry by itself. */
  retries: number;
}

export const POOL_DEFAULTS: Omit<PoolConfig, 'name'> = {
  priority: 1,
  maxUsagePercent: 90,
  readOnly: false,
  timeoutMs: 15_000,
  retries: 2,
};

export interface PoolUsage extends BackendUsage {
  /** usedBytes / totalBytes in percent, or null where either is unknown. */
  percent: number | null;
}

export interface PoolOptions {
  /** Aborts every call of this pool when it fires (a CLI's Ctrl-C). */
  signal?: AbortSignal | undefined;
  /** The circuit breaker's thresholds, back-off and clock (tests inject a clock). */
  health?: Partial<HealthOptions>;
  /** How long the first writes wait for a first usage figure (default 1 s, at most timeoutMs). */
  firstUsageWaitMs?: number;
  /** The clock that dates usage figures (when one is old enough to refresh); tests inject one. Default Date.now. */
  now?: () => number;
}

/** One object operation through a pool, as observers see it (a deleteMany is one "delete" per key). */
export interface PoolOperation {
  pool: string;
  op: 'write' | 'read' | 'delete' | 'exists' | 'stat' | 'list';
  /** The key (the prefix, for a listing). */
  key: string | undefined;
  durationMs: number;
  /** Absent when the operation succeeded. */
  error?: StorageError;
}

/** A usage figure is refreshed (in the background) once it is older than this. */
const USAGE_REFRESH_MS = 5_000;
/** The first write of a process waits this long at most for a first usage figure, then goes on without. */
const FIRST_USAGE_WAIT_MS = 1_000;
/**
 * A refresh that has not settled after this long is given up (and counts as a failure). Not the
 * pool's per-call deadline: a quota counted by listing a large bucket takes one request per 1000
 * objects, each with its own deadline in the backend, and runs in the background.
 */
const USAGE_CEILING_MS = 10 * 60_000;

const UNKNOWN_USAGE: PoolUsage = { usedBytes: null, totalBytes: null, percent: null };

export class StoragePool {
  readonly name: string;
  readonly config: PoolConfig;
  /** The backend with its layers; use the pool's methods to have them counted. */
  readonly backend: StorageBackend;
  private readonly raw: StorageBackend;
  private readonly breaker: HealthBreaker;
  private readonly tracker = new MetricsTracker();
  private probed: ProbeResult | undefined;
  private readonly deleteListeners: ((keys: readonly string[]) => void)[] = [];
  private readonly operationListeners: ((operation: PoolOperation) => void)[] = [];
  /** The last usage figure and when it was measured. */
  private measured: { usage: BackendUsage; at: number } | undefined;
  /** The refresh under way (one at a time). */
  private refreshing: Promise<void> | undefined;
  /** Bytes written since the figure being measured was started, and before it (while it runs). */
  private writtenSince = 0;
  private writtenBefore = 0;
  private firstUsageWait: Promise<void> | undefined;
  private readonly firstUsageWaitMs: number;
  private readonly signal: AbortSignal | undefined;
  private readonly now: () => number;

  constructor(config: PoolConfig, backend: StorageBackend, options: PoolOptions = {}) {
    this.config = config;
    this.name = config.name;
    this.raw = backend;
    this.backend = applyLayers(backend, { timeoutMs: config.timeoutMs, retries: config.retries, signal: options.signal });
    this.signal = options.signal;
    this.firstUsageWaitMs = Math.min(options.firstUsageWaitMs ?? FIRST_USAGE_WAIT_MS, config.timeoutMs);
    this.now = options.now ?? Date.now;
    this.breaker = new HealthBreaker(options.health);
  }

  get type(): string {
    return this.backend.type;
  }

  get health(): PoolHealth {
    return this.breaker.health;
  }

  /** The circuit breaker's state: closed, open (known down until its back-off ends), half-open. */
  get breakerState(): BreakerState {
    return this.breaker.state;
  }

  /** Open, or half-open with its one trial call in flight: a call now would likely wait for its timeout. */
  get knownDown(): boolean {
    return this.breaker.knownDown;
  }

  /** Claims the one trial call of a half-open pool (true when the pool is closed). */
  claimTrial(): boolean {
    return this.breaker.claimTrial();
  }

  get lastProbe(): ProbeResult | undefined {
    return this.probed;
  }

  metrics(): PoolMetrics {
    return this.tracker.metrics();
  }

  /** Called after each object operation through this pool (the CLI's --verbose logs them). */
  onOperation(listener: (operation: PoolOperation) => void): void {
    this.operationListeners.push(listener);
  }

  /** Called with the keys of every successful delete and deleteMany through this pool. */
  onDelete(listener: (keys: readonly string[]) => void): void {
    this.deleteListeners.push(listener);
  }

  /** Refused (InvalidArgument, before any I/O) when the pool is read-only. */
  async write(key: string, data: Uint8Array, options?: WriteOptions): Promise<WriteReceipt> {
    assertWritable({ name: this.name, readOnly: this.config.readOnly });
    const receipt = await this.track('write', key, () => this.backend.write(key, data, options), () => ({ written: data.byteLength }));
    this.writtenSince += data.byteLength;
    return receipt;
  }

  read(key: string, options?: ReadOptions): Promise<Buffer> {
    return this.track('read', key, () => this.backend.read(key, options), (data) => ({ read: data.length }));
  }

  async delete(key: string, options?: CallOptions): Promise<void> {
    await this.track('delete', key, () => this.backend.delete(key, options));
    this.deleted([key]);
  }

  async deleteMany(keys: readonly string[], options?: CallOptions): Promise<DeleteManyResult> {
    const started = performance.now();
    const result = await this.track(undefined, undefined, () => this.backend.deleteMany(keys, options)).catch((error: unknown) => {
      for (const key of keys) this.observe('delete', key, performance.now() - started, this.named(error, key));
      throw error;
    });
    for (const key of result.deleted) this.observe('delete', key, performance.now() - started);
    for (const { key, error } of result.failed) this.observe('delete', key, performance.now() - started, this.named(error, key));
    this.deleted(result.deleted);
    return { deleted: result.deleted, failed: result.failed.map(({ key, error }) => ({ key, error: this.named(error, key) })) };
  }

  exists(key: string, options?: CallOptions): Promise<boolean> {
    return this.track('exists', key, () => this.backend.exists(key, options));
  }

  stat(key: string, options?: CallOptions): Promise<ObjectInfo> {
    return this.track('stat', key, () => this.backend.stat(key, options));
  }

  /** Every object under `prefix`, streamed; a failure part way throws with the pool named. */
  async *list(prefix: string, options?: CallOptions): AsyncIterable<ObjectInfo> {
    const started = performance.now();
    let failed = false;
    try {
      yield* this.backend.list(prefix, options);
    } catch (error) {
      failed = true;
      this.recordOutcome(!countsAgainstPool(error), performance.now() - started);
      this.observe('list', prefix, performance.now() - started, this.named(error, prefix));
      throw this.named(error, prefix);
    } finally {
      // Read to its end, or left early by the caller (ls --limit, a merge that has what it needs):
      // the pages read were answered, and the operation is reported either way.
      if (!failed) {
        this.recordOutcome(true, performance.now() - started);
        this.observe('list', prefix, performance.now() - started);
      }
    }
  }

  /** The object's bytes in a range, streamed; a failure part way throws with the pool named. */
  async *readStream(key: string, options?: ReadStreamOptions): AsyncIterable<Uint8Array> {
    const started = performance.now();
    let bytes = 0;
    let failed = false;
    try {
      for await (const chunk of this.backend.readStream(key, options)) {
        bytes += chunk.length;
        yield chunk;
      }
    } catch (error) {
      failed = true;
      this.recordOutcome(!countsAgainstPool(error), performance.now() - started);
      throw this.named(error, key);
    } finally {
      // Read to its end or left early (a player that went away): the bytes read are counted.
      if (!failed) this.recordOutcome(true, performance.now() - started, { read: bytes });
    }
  }

  /**
   * Used and total bytes: the last figure if it is recent, else a fresh one, waited for up to the
   * pool's deadline (timeoutMs); nulls where unknown or not measured in time (the refresh then
   * goes on in the background). A failed refresh reads as unknown (and is counted in the metrics).
   */
  async usage(): Promise<PoolUsage> {
    if (this.usageIsStale()) void this.refreshUsage();
    if (this.refreshing !== undefined && this.usageIsStale()) await settledWithin(this.refreshing, this.config.timeoutMs);
    return this.currentUsage() ?? UNKNOWN_USAGE;
  }

  /**
   * What a write decides on: the last usage figure (plus the bytes written since), never waiting
   * for a refresh, which starts in the background when the figure is old. Only the first calls of
   * a process wait, up to a second from the first, for a first figure. Undefined when nothing is known yet.
   */
  async knownUsage(): Promise<PoolUsage | undefined> {
    if (this.usageIsStale()) void this.refreshUsage();
    // One bounded wait per pool, shared by the writes that arrive during it; none after it.
    if (this.measured === undefined && this.refreshing !== undefined) {
      this.firstUsageWait ??= settledWithin(this.refreshing, this.firstUsageWaitMs);
      await this.firstUsageWait;
    }
    return this.currentUsage();
  }

  /** What the policy decides a write on. Usage is only looked up for a pool that could take writes. */
  async facts(): Promise<PoolFacts> {
    const breaker = this.breaker.state;
    const usage = this.config.readOnly || breaker === 'open' ? undefined : await this.knownUsage();
    return { name: this.name, priority: this.config.priority, readOnly: this.config.readOnly, maxUsagePercent: this.config.maxUsagePercent, breaker, usage };
  }

  /**
   * Checks that the pool answers. A writable pool: writes, reads back and deletes a small object
   * under the reserved prefix. A read-only pool is never written (its credentials may be read-only):
   * a stat of a key that does not exist must answer "not found". A failed probe opens the pool's
   * breaker; a good one closes it.
   */
  async probe(): Promise<ProbeResult> {
    // Math.random, not node:crypto: loading that costs every command 6 ms of start-up.
    const key = `${RESERVED_PREFIX}probe/${hostname().replace(/[^A-Za-z0-9._-]/g, '_')}-${process.pid}-${Math.random().toString(36).slice(2, 10)}`;
    const mode = this.config.readOnly ? 'read-only' : 'read-write';
    const started = performance.now();
    let result: ProbeResult;
    try {
      if (mode === 'read-only') await this.probeReadOnly(key);
      else await this.probeReadWrite(key);
      result = { ok: true, mode, latencyMs: performance.now() - started, at: new Date() };
    } catch (error) {
      result = { ok: false, mode, latencyMs: performance.now() - started, at: new Date(), error: this.named(error, undefined) };
    }
    this.probed = result;
    this.tracker.record(result.ok, result.latencyMs);
    this.breaker.record(result.ok, 'probe');
    return result;
  }

  close(): Promise<void> {
    return this.backend.close();
  }

  /** An error as a StorageError that names this pool and its backend type. */
  named(error: unknown, key: string | undefined): StorageError {
    return toStorageError(error, { pool: this.name, backend: this.type, ...(key === undefined ? {} : { key }) });
  }

  private async probeReadWrite(key: string): Promise<void> {
    const payload = Buffer.from(`flux-storage probe ${key} ${Date.now()} ${Math.random()}`);
    await this.backend.write(key, payload);
    const back = await this.backend.read(key);
    await this.backend.delete(key);
    if (!back.equals(payload)) throw new StorageError('Corrupt', 'the probe object read back differs from what was written');
  }

  private async probeReadOnly(key: string): Promise<void> {
    try {
      await this.backend.stat(key);
    } catch (error) {
      if (isStorageError(error, 'NotFound')) return;
      throw error;
    }
  }

  private usageIsStale(): boolean {
    return this.measured === undefined || this.now() - this.measured.at > USAGE_REFRESH_MS;
  }

  private currentUsage(): PoolUsage | undefined {
    if (this.measured === undefined) return undefined;
    const { usedBytes, totalBytes } = this.measured.usage;
    const used = usedBytes === null ? null : usedBytes + this.writtenBefore + this.writtenSince;
    return { usedBytes: used, totalBytes, percent: used !== null && totalBytes ? (used / totalBytes) * 100 : null };
  }

  /** Starts a refresh unless one runs; never twice at once. Settles, never rejects. */
  private refreshUsage(): Promise<void> {
    if (this.refreshing !== undefined) return this.refreshing;
    if (!this.backend.capabilities.usage) {
      this.measured = { usage: UNKNOWN_USAGE, at: this.now() };
      return Promise.resolve();
    }
    this.writtenBefore += this.writtenSince;
    this.writtenSince = 0;
    const started = performance.now();
    let timer: NodeJS.Timeout | undefined;
    const ceiling = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new StorageError('Timeout', `usage did not answer within ${USAGE_CEILING_MS / 60_000} minutes`)), USAGE_CEILING_MS);
      timer.unref();
    });
    // The raw backend, not the layered one: the timeout layer's deadline is for one call, and a
    // quota counted by listing is many. The owner's signal (Ctrl-C) still stops it.
    const refresh = Promise.race([this.raw.usage({ signal: this.signal }), ceiling]).then(
      (usage) => {
        this.measured = { usage, at: this.now() };
        this.writtenBefore = 0;
        this.tracker.record(true, performance.now() - started);
      },
      // Counted in the metrics, not by the breaker: whether a pool can be measured says little of
      // whether it can store (a statfs answers on a root that takes no write, a quota listing can
      // fail on a store that writes).
      (error: unknown) => {
        this.measured = { usage: UNKNOWN_USAGE, at: this.now() };
        this.writtenBefore = 0;
        this.tracker.record(!countsAgainstPool(error), performance.now() - started);
      },
    );
    this.refreshing = refresh.finally(() => {
      clearTimeout(timer);
      this.refreshing = undefined;
    });
    return this.refreshing;
  }

  private deleted(keys: readonly string[]): void {
    if (keys.length === 0) return;
    for (const listener of this.deleteListeners) listener(keys);
  }

  private recordOutcome(ok: boolean, latencyMs: number, bytes?: { written?: number; read?: number }): void {
    this.tracker.record(ok, latencyMs, bytes);
    this.breaker.record(ok);
  }

  private observe(op: PoolOperation['op'], key: string | undefined, durationMs: number, error?: StorageError): void {
    for (const listener of this.operationListeners) listener({ pool: this.name, op, key, durationMs, ...(error === undefined ? {} : { error }) });
  }

  private async track<T>(op: PoolOperation['op'] | undefined, key: string | undefined, run: () => Promise<T>, bytes?: (result: T) => { written?: number; read?: number }): Promise<T> {
    const started = performance.now();
    try {
      const result = await run();
      this.recordOutcome(true, performance.now() - started, bytes?.(result));
      if (op !== undefined) this.observe(op, key, performance.now() - started);
      return result;
    } catch (error) {
      this.recordOutcome(!countsAgainstPool(error), performance.now() - started);
      if (op !== undefined) this.observe(op, key, performance.now() - started, this.named(error, key));
      throw this.named(error, key);
    }
  }
}

/** Waits for `promise` to settle, or `ms`, whichever is first; never rejects. */
async function settledWithin(promise: Promise<unknown>, ms: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const wait = new Promise<void>((resolve) => {
    timer = setTimeout(resolve, ms);
    timer.unref();
  });
  await Promise.race([promise.catch(() => undefined), wait]).finally(() => clearTimeout(timer));
}
