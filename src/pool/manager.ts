// StorageManager: where objects go. Chooses a pool for each write by priority, usage and health,
// fails over to the next, reads from whichever pool has the object, deletes from every pool.

import type { ObjectInfo, StorageBackend } from '../backends/types.js';
import { isStorageError, StorageError } from '../errors.js';
import { assertValidKey, assertValidPrefix, compareNames } from '../keys.js';
import { StoragePool, type PoolConfig } from './pool.js';

export interface PoolFailure {
  pool: string;
  error: StorageError;
}

export interface WriteOutcome {
  /** The pool that took the data. */
  pool: string;
  /** Pools tried before it, with why each failed. */
  failedOver: PoolFailure[];
}

export interface ListedObject {
  info: ObjectInfo;
  /** Every pool holding the key, in priority order. */
  pools: string[];
}

export interface UnionListing {
  objects: Map<string, ListedObject>;
  /** Pools whose listing failed: the union is then incomplete. */
  failures: PoolFailure[];
}

/** Remembers which pool last held a key, so a read goes there first (bounded, most recent kept). */
const LOCATION_CACHE_SIZE = 10_000;

export class StorageManager {
  /** Pools in priority order (1 before 2; equal priorities by name). */
  readonly pools: readonly StoragePool[];
  private readonly locations = new Map<string, string>();

  constructor(pools: readonly StoragePool[]) {
    const names = new Set<string>();
    for (const pool of pools) {
      if (names.has(pool.name)) throw new StorageError('ConfigInvalid', `two pools are named "${pool.name}": names must be unique`);
      names.add(pool.name);
    }
    this.pools = [...pools].sort((a, b) => a.config.priority - b.config.priority || compareNames(a.name, b.name));
  }

  static fromBackends(pairs: readonly (readonly [PoolConfig, StorageBackend])[]): StorageManager {
    return new StorageManager(pairs.map(([config, backend]) => new StoragePool(config, backend)));
  }

  /** The pool of that name; an InvalidArgument error listing the configured pools otherwise. */
  pool(name: string): StoragePool {
    const pool = this.pools.find((p) => p.name === name);
    if (pool === undefined) {
      const known = this.pools.map((p) => p.name).join(', ');
      throw new StorageError('InvalidArgument', `unknown pool "${name}": the configured pools are ${known}`);
    }
    return pool;
  }

  /** The named pool alone, or every pool. */
  poolsFor(name?: string): readonly StoragePool[] {
    return name === undefined ? this.pools : [this.pool(name)];
  }

  /**
   * Pools that may take a write of `size` bytes, best first: not read-only, not unhealthy, and at
   * or below maxUsagePercent after the write where usage is known. Lowest priority number first;
   * ties go to the least used (unknown usage after known).
   */
  async selectPoolsForWrite(size: number): Promise<{ eligible: StoragePool[]; skipped: { pool: string; reason: string }[] }> {
    const skipped: { pool: string; reason: string }[] = [];
    const candidates: { pool: StoragePool; percent: number | null }[] = [];
    await Promise.all(
      this.pools.map(async (pool) => {
        if (pool.config.readOnly) return skipped.push({ pool: pool.name, reason: 'read-only' });
        if (pool.health === 'unhealthy') return skipped.push({ pool: pool.name, reason: 'unhealthy' });
        const usage = await pool.usage();
        if (usage.usedBytes !== null && usage.totalBytes) {
          const after = ((usage.usedBytes + size) / usage.totalBytes) * 100;
          if (after > pool.config.maxUsagePercent) {
            return skipped.push({ pool: pool.name, reason: `would be ${after.toFixed(1)}% full, over its ${pool.config.maxUsagePercent}% limit` });
          }
        }
        return candidates.push({ pool, percent: usage.percent });
      }),
    );
    candidates.sort(
      (a, b) =>
        a.pool.config.priority - b.pool.config.priority ||
        (a.percent ?? Infinity) - (b.percent ?? Infinity) ||
        compareNames(a.pool.name, b.pool.name),
    );
    return { eligible: candidates.map((c) => c.pool), skipped };
  }

  /**
   * Writes to the best eligible pool, or to `options.pool` alone. When a pool's write fails, the
   * next eligible one is tried; fails only when none took it, naming every pool's reason.
   */
  async write(key: string, data: Uint8Array, options: { pool?: string } = {}): Promise<WriteOutcome> {
    assertValidKey(key);
    if (options.pool !== undefined) {
      await this.pool(options.pool).write(key, data);
      this.remember(key, options.pool);
      return { pool: options.pool, failedOver: [] };
    }
    const { eligible, skipped } = await this.selectPoolsForWrite(data.byteLength);
    const failedOver: PoolFailure[] = [];
    for (const pool of eligible) {
      try {
        await pool.write(key, data);
        this.remember(key, pool.name);
        return { pool: pool.name, failedOver };
      } catch (error) {
        failedOver.push({ pool: pool.name, error: pool.named(error, key) });
      }
    }
    const reasons = [
      ...failedOver.map((f) => `${f.pool}: ${f.error.detail}`),
      ...skipped.map((s) => `${s.pool}: ${s.reason}`),
    ];
    throw new StorageError('Unavailable', `no pool took the write (${reasons.join('; ') || 'no pools configured'})`, { key });
  }

  /**
   * The object from the first pool that has it, trying pools in priority order (the pool that last
   * held it first). NotFound only when every pool answered that it has no such object; when some
   * pool could not answer, the error says so instead.
   */
  async read(key: string, options: { pool?: string } = {}): Promise<{ data: Buffer; pool: string }> {
    assertValidKey(key);
    const failures: PoolFailure[] = [];
    for (const pool of this.readOrder(key, options.pool)) {
      try {
        const data = await pool.read(key);
        this.remember(key, pool.name);
        return { data, pool: pool.name };
      } catch (error) {
        if (!isStorageError(error, 'NotFound')) failures.push({ pool: pool.name, error: pool.named(error, key) });
      }
    }
    this.locations.delete(key);
    throw notFoundOrUnsure(key, failures);
  }

  /** Which pools hold the key, with what each reports. Pools that could not answer are in failures. */
  async locate(key: string, options: { pool?: string } = {}): Promise<{ found: { pool: string; info: ObjectInfo }[]; failures: PoolFailure[] }> {
    assertValidKey(key);
    const found: { pool: string; info: ObjectInfo }[] = [];
    const failures: PoolFailure[] = [];
    await Promise.all(
      this.poolsFor(options.pool).map(async (pool) => {
        try {
          found.push({ pool: pool.name, info: await pool.stat(key) });
        } catch (error) {
          if (!isStorageError(error, 'NotFound')) failures.push({ pool: pool.name, error: pool.named(error, key) });
        }
      }),
    );
    return { found: this.inPriorityOrder(found), failures: this.inPriorityOrder(failures) };
  }

  /**
   * Removes the key from every pool that holds it (or from `options.pool` alone): a copy left in a
   * lower pool would come back on the next read. Throws NotFound when no pool held it, and an error
   * naming the pools that failed when any did (after deleting from all the others).
   */
  async delete(key: string, options: { pool?: string } = {}): Promise<{ deletedFrom: string[] }> {
    const { found, failures } = await this.locate(key, options);
    const deletedFrom: string[] = [];
    await Promise.all(
      found.map(async ({ pool: name }) => {
        try {
          await this.pool(name).delete(key);
          deletedFrom.push(name);
        } catch (error) {
          failures.push({ pool: name, error: this.pool(name).named(error, key) });
        }
      }),
    );
    this.locations.delete(key);
    if (failures.length > 0) {
      const done = deletedFrom.length > 0 ? ` (deleted from ${deletedFrom.join(', ')})` : '';
      throw new StorageError('Unavailable', `could not delete from ${describeFailures(failures)}${done}`, { key });
    }
    if (found.length === 0) throw new StorageError('NotFound', 'no pool holds this object', { key });
    return { deletedFrom: this.inPriorityOrder(deletedFrom.map((pool) => ({ pool }))).map((d) => d.pool) };
  }

  /**
   * The union of every pool's listing of `prefix` (or of `options.pool` alone), with the pools that
   * hold each key. The entry shown for a key is the one of its highest-priority pool. A pool whose
   * listing fails is reported in `failures`, and the union is then incomplete.
   */
  async list(prefix: string, options: { pool?: string } = {}): Promise<UnionListing> {
    assertValidPrefix(prefix);
    const objects = new Map<string, ListedObject>();
    const failures: PoolFailure[] = [];
    const pools = this.poolsFor(options.pool);
    const perPool = await Promise.all(
      pools.map(async (pool) => {
        const infos: ObjectInfo[] = [];
        try {
          for await (const info of pool.list(prefix)) infos.push(info);
        } catch (error) {
          failures.push({ pool: pool.name, error: pool.named(error, prefix) });
        }
        return infos;
      }),
    );
    perPool.forEach((infos, index) => {
      const name = pools[index]!.name;
      for (const info of infos) {
        const listed = objects.get(info.key);
        if (listed === undefined) objects.set(info.key, { info, pools: [name] });
        else listed.pools.push(name);
      }
    });
    return { objects, failures: this.inPriorityOrder(failures) };
  }

  async close(): Promise<void> {
    await Promise.all(this.pools.map((pool) => pool.close().catch(() => undefined)));
  }

  private readOrder(key: string, only?: string): readonly StoragePool[] {
    if (only !== undefined) return [this.pool(only)];
    const last = this.locations.get(key);
    const first = last === undefined ? undefined : this.pools.find((p) => p.name === last);
    return first === undefined ? this.pools : [first, ...this.pools.filter((p) => p !== first)];
  }

  private remember(key: string, pool: string): void {
    this.locations.delete(key);
    this.locations.set(key, pool);
    if (this.locations.size > LOCATION_CACHE_SIZE) this.locations.delete(this.locations.keys().next().value as string);
  }

  private inPriorityOrder<T extends { pool: string }>(items: T[]): T[] {
    const rank = (name: string): number => this.pools.findIndex((p) => p.name === name);
    return [...items].sort((a, b) => rank(a.pool) - rank(b.pool));
  }
}

export function describeFailures(failures: readonly PoolFailure[]): string {
  return failures.map((f) => `${f.pool} (${f.error.code}: ${f.error.detail})`).join('; ');
}

function notFoundOrUnsure(key: string, failures: PoolFailure[]): StorageError {
  if (failures.length === 0) return new StorageError('NotFound', 'no pool holds this object', { key });
  const first = failures[0]!.error;
  return new StorageError(first.code === 'PermissionDenied' ? 'PermissionDenied' : 'Unavailable', `not found in the pools that answered, and ${describeFailures(failures)} could not be read`, {
    key,
    retryable: first.retryable,
  });
}
