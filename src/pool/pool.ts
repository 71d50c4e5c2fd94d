// StoragePool: one configured backend with its priority, usage limit, health and metrics. Every
// call goes through the layers (timeout, retry) and is counted here; errors gain the pool's name.

import { hostname } from 'node:os';
import type { BackendUsage, CallOptions, DeleteManyResult, ObjectInfo, ReadOptions, StorageBackend, WriteOptions, WriteReceipt } from '../backends/types.js';
import { StorageError, toStorageError } from '../errors.js';
import { RESERVED_PREFIX } from '../keys.js';
import { applyLayers } from '../layers/index.js';
import { countsAgainstPool, HealthTracker, type PoolHealth, type PoolMetrics, type ProbeResult } from './health.js';

export interface PoolConfig {
  /** Unique name, used by --pool and in every message. */
  name: string;
  /** Lower numbers are preferred for writes and read first (1 before 2). */
  priority: number;
  /** Writes go elsewhere once a write would take usage above this percent (where usage is known). */
  maxUsagePercent: number;
  /** A read-only pool is read, listed and cleaned, but never chosen for a write. */
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

const USAGE_CACHE_MS = 5_000;

export class StoragePool {
  readonly name: string;
  readonly config: PoolConfig;
  /** The backend with its layers; use the pool's methods to have them counted. */
  readonly backend: StorageBackend;
  private readonly tracker = new HealthTracker();
  private cachedUsage: { at: number; usage: Promise<PoolUsage> } | undefined;

  /** `options.signal` aborts every call of this pool when it fires (a CLI's Ctrl-C). */
  constructor(config: PoolConfig, backend: StorageBackend, options: { signal?: AbortSignal | undefined } = {}) {
    this.config = config;
    this.name = config.name;
    this.backend = applyLayers(backend, { timeoutMs: config.timeoutMs, retries: config.retries, signal: options.signal });
  }

  get type(): string {
    return this.backend.type;
  }

  get health(): PoolHealth {
    return this.tracker.health;
  }

  get lastProbe(): ProbeResult | undefined {
    return this.tracker.probe;
  }

  metrics(): PoolMetrics {
    return this.tracker.metrics();
  }

  write(key: string, data: Uint8Array, options?: WriteOptions): Promise<WriteReceipt> {
    return this.track(key, () => this.backend.write(key, data, options), () => ({ written: data.byteLength }));
  }

  read(key: string, options?: ReadOptions): Promise<Buffer> {
    return this.track(key, () => this.backend.read(key, options), (data) => ({ read: data.length }));
  }

  delete(key: string, options?: CallOptions): Promise<void> {
    return this.track(key, () => this.backend.delete(key, options));
  }

  async deleteMany(keys: readonly string[], options?: CallOptions): Promise<DeleteManyResult> {
    const result = await this.track(undefined, () => this.backend.deleteMany(keys, options));
    return { deleted: result.deleted, failed: result.failed.map(({ key, error }) => ({ key, error: this.named(error, key) })) };
  }

  exists(key: string, options?: CallOptions): Promise<boolean> {
    return this.track(key, () => this.backend.exists(key, options));
  }

  stat(key: string, options?: CallOptions): Promise<ObjectInfo> {
    return this.track(key, () => this.backend.stat(key, options));
  }

  /** Every object under `prefix`, streamed; a failure part way throws with the pool named. */
  async *list(prefix: string, options?: CallOptions): AsyncIterable<ObjectInfo> {
    const started = performance.now();
    try {
      yield* this.backend.list(prefix, options);
      this.tracker.record(true, performance.now() - started);
    } catch (error) {
      this.tracker.record(!countsAgainstPool(error), performance.now() - started);
      throw this.named(error, prefix);
    }
  }

  /** Used and total bytes, cached for a few seconds; an error counts against health and reads as unknown. */
  usage(): Promise<PoolUsage> {
    const now = Date.now();
    if (this.cachedUsage === undefined || now - this.cachedUsage.at > USAGE_CACHE_MS) {
      const usage = this.track(undefined, () => this.backend.usage()).then(
        (u) => ({ ...u, percent: u.usedBytes !== null && u.totalBytes ? (u.usedBytes / u.totalBytes) * 100 : null }),
        () => ({ usedBytes: null, totalBytes: null, percent: null }),
      );
      this.cachedUsage = { at: now, usage };
    }
    return this.cachedUsage.usage;
  }

  /**
   * Writes, reads back and deletes a small object under the reserved prefix. Its outcome decides
   * whether the pool is unhealthy until the next probe.
   */
  async probe(): Promise<ProbeResult> {
    // Math.random, not node:crypto: loading that costs every command 6 ms of start-up.
    const key = `${RESERVED_PREFIX}probe/${hostname().replace(/[^A-Za-z0-9._-]/g, '_')}-${process.pid}-${Math.random().toString(36).slice(2, 10)}`;
    const payload = Buffer.from(`flux-storage probe ${key} ${Date.now()} ${Math.random()}`);
    const started = performance.now();
    let result: ProbeResult;
    try {
      await this.backend.write(key, payload);
      const back = await this.backend.read(key);
      await this.backend.delete(key);
      if (!back.equals(payload)) throw new StorageError('Corrupt', 'the probe object read back differs from what was written');
      result = { ok: true, latencyMs: performance.now() - started, at: new Date() };
    } catch (error) {
      result = { ok: false, latencyMs: performance.now() - started, at: new Date(), error: this.named(error, undefined) };
    }
    this.tracker.recordProbe(result);
    return result;
  }

  close(): Promise<void> {
    return this.backend.close();
  }

  /** An error as a StorageError that names this pool and its backend type. */
  named(error: unknown, key: string | undefined): StorageError {
    return toStorageError(error, { pool: this.name, backend: this.type, ...(key === undefined ? {} : { key }) });
  }

  private async track<T>(key: string | undefined, run: () => Promise<T>, bytes?: (result: T) => { written?: number; read?: number }): Promise<T> {
    const started = performance.now();
    try {
      const result = await run();
      this.tracker.record(true, performance.now() - started, bytes?.(result));
      return result;
    } catch (error) {
      this.tracker.record(!countsAgainstPool(error), performance.now() - started);
      throw this.named(error, key);
    }
  }
}
