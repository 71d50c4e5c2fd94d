// StorageManager: where objects go. Chooses a pool for each write by priority, usage and health,
// fails over to the next, reads from whichever pool has the object, deletes from every pool. The
// rules it applies (eligibility, order, health, aggregated error codes) are policy.ts's.

import type { ObjectInfo, StorageBackend } from '../backends/types.js';
import { isStorageError, StorageError } from '../errors.js';
import { assertValidKey, assertValidPrefix, compareNames } from '../keys.js';
import { FolderListing, type FolderListingOptions } from './listing.js';
import { StoragePool, type PoolConfig, type PoolOptions } from './pool.js';
import { aggregateFailure, assertWritable, comparePriority, planWrite, readOrder, skipCode, type WriteSkip } from './policy.js';
import { sameStore } from './same-store.js';
import { StaleCopies } from './stale.js';

export interface PoolFailure {
  pool: string;
  error: StorageError;
}

export interface WriteOutcome {
  /** The pool that took the data. */
  pool: string;
  /** Pools tried before it, with why each failed. */
  failedOver: PoolFailure[];
  /** Pools not tried, with why (read-only, unhealthy, full). */
  skipped: WriteSkip[];
  /**
   * Pools read before the one that took the data, whose older copy of the key could not be
   * removed (down, refused, or not proven to be another store): reads in this process skip them
   * for this key, and retry the removal once they answer again.
   */
  staleCopies: PoolFailure[];
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

/** Remembers which pool this process last wrote a key to, so a read goes there first (bounded, most recent kept). */
const LOCATION_CACHE_SIZE = 10_000;

export class StorageManager {
  /** Pools in priority order (1 before 2; equal priorities by name). */
  readonly pools: readonly StoragePool[];
  private readonly locations = new Map<string, string>();
  private readonly stale: StaleCopies;

  constructor(pools: readonly StoragePool[]) {
    const names = new Set<string>();
    for (const pool of pools) {
      if (names.has(pool.name)) throw new StorageError('ConfigInvalid', `two pools are named "${pool.name}": names must be unique`);
      names.add(pool.name);
    }
    this.pools = [...pools].sort((a, b) => comparePriority(a.config, b.config));
    this.stale = new StaleCopies(this.pools, (a, b) => sameStore(a, b));
    // Every delete through a pool (rm, cleanup's deleteMany, migrate's --delete-source) drops what
    // this process remembered of those keys.
    for (const pool of this.pools) pool.onDelete((keys) => this.forget(keys));
  }

  static fromBackends(pairs: readonly (readonly [PoolConfig, StorageBackend])[], options: PoolOptions = {}): StorageManager {
    return new StorageManager(pairs.map(([config, backend]) => new StoragePool(config, backend, options)));
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
   * Pools that may take a write of `size` bytes, best first, and the others with why not (see
   * policy.ts planWrite: read-only, unhealthy, over maxUsagePercent with the write's size).
   */
  async selectPoolsForWrite(size: number): Promise<{ eligible: StoragePool[]; skipped: WriteSkip[] }> {
    const facts = await Promise.all(this.pools.map(async (pool) => ({ ...(await pool.facts()), pool })));
    const { eligible, skipped } = planWrite(facts, size);
    return { eligible: eligible.map((f) => f.pool), skipped };
  }

  /**
   * Writes to the best eligible pool, or to `options.pool` alone (refused with InvalidArgument,
   * nothing written, when it is read-only). When a pool's write fails, the next eligible one is
   * tried; fails only when none took it, naming every pool's reason, with the most telling code.
   * Once written, older copies of the key in pools read before that one are removed, so that
   * reads return the new bytes (see stale.ts).
   */
  async write(key: string, data: Uint8Array, options: { pool?: string } = {}): Promise<WriteOutcome> {
    assertValidKey(key);
    if (options.pool !== undefined) {
      const pool = this.pool(options.pool);
      assertWritable({ name: pool.name, readOnly: pool.config.readOnly });
      await pool.write(key, data);
      return this.written(key, pool, [], []);
    }
    const { eligible, skipped } = await this.selectPoolsForWrite(data.byteLength);
    const failedOver: PoolFailure[] = [];
    for (const pool of eligible) {
      // A half-open pool takes one trial call at a time; the others skip it as unhealthy.
      if (!pool.claimTrial()) {
        skipped.push({ pool: pool.name, reason: 'unhealthy', detail: 'unhealthy (its trial call after the back-off is in flight)' });
        continue;
      }
      try {
        await pool.write(key, data);
        return this.written(key, pool, failedOver, skipped);
      } catch (error) {
        failedOver.push({ pool: pool.name, error: pool.named(error, key) });
      }
    }
    const reasons = [
      ...failedOver.map((f) => `${f.pool}: ${f.error.detail}`),
      ...skipped.map((s) => `${s.pool}: ${s.detail}`),
    ];
    const { code, retryable } = aggregateFailure([...failedOver.map((f) => f.error), ...skipped.map((s) => skipCode(s.reason))]);
    throw new StorageError(code, `no pool took the write (${reasons.join('; ') || 'no pools configured'})`, { key, retryable });
  }

  /** Drops what this process remembers of these keys (where each was written, stale copies). */
  forget(keys: readonly string[]): void {
    for (const key of keys) {
      this.locations.delete(key);
      this.stale.forget(key);
    }
  }

  /**
   * The object from the first pool that has it, in policy.ts's read order: the pool this process
   * last wrote the key to, then priority order, pools known to be down last (still tried before
   * answering NotFound). NotFound only when every pool answered that it has no such object; when
   * some pool could not answer, the error says so instead.
   */
  async read(key: string, options: { pool?: string } = {}): Promise<{ data: Buffer; pool: string }> {
    assertValidKey(key);
    if (options.pool === undefined && this.stale.has(key)) await this.retryStaleRemoval(key);
    const failures: PoolFailure[] = [];
    for (const pool of this.readOrder(key, options.pool)) {
      pool.claimTrial();
      try {
        const data = await pool.read(key);
        return { data, pool: pool.name };
      } catch (error) {
        if (!isStorageError(error, 'NotFound')) failures.push({ pool: pool.name, error: pool.named(error, key) });
      }
    }
    if (failures.length === 0) this.locations.delete(key);
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
    this.forget([key]);
    if (failures.length > 0) {
      const done = deletedFrom.length > 0 ? ` (deleted from ${deletedFrom.join(', ')})` : '';
      const { code, retryable } = aggregateFailure(failures.map((f) => f.error));
      throw new StorageError(code, `could not delete from ${describeFailures(failures)}${done}`, { key, retryable });
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

  /** The union listing of `prefix` one folder (or group) at a time, streamed: see listing.ts. */
  listFolders(prefix: string, options: FolderListingOptions & { pool?: string | undefined } = {}): FolderListing {
    return new FolderListing(this.poolsFor(options.pool), prefix, options);
  }

  async close(): Promise<void> {
    await Promise.all(this.pools.map((pool) => pool.close().catch(() => undefined)));
  }

  private readOrder(key: string, only?: string): readonly StoragePool[] {
    if (only !== undefined) return [this.pool(only)];
    const facts = this.pools.map((pool) => ({ pool, name: pool.name, knownDown: pool.knownDown }));
    return readOrder(facts, { wroteTo: this.locations.get(key), stale: this.stale.poolsOf(key) }).map((f) => f.pool);
  }

  private async written(key: string, pool: StoragePool, failedOver: PoolFailure[], skipped: WriteSkip[]): Promise<WriteOutcome> {
    const previous = this.locations.get(key);
    // Removing the older copies deletes through the pools, which makes this manager forget the
    // key: where it now is is remembered after.
    const staleCopies = await this.stale.afterWrite(key, pool, previous);
    this.remember(key, pool.name);
    return { pool: pool.name, failedOver, skipped, staleCopies };
  }

  private async retryStaleRemoval(key: string): Promise<void> {
    const holder = this.locations.get(key);
    await this.stale.retry(key, this.pools.find((p) => p.name === holder));
    if (holder !== undefined) this.remember(key, holder);
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
  const { code, retryable } = aggregateFailure(failures.map((f) => f.error));
  return new StorageError(code, `not found in the pools that answered, and ${describeFailures(failures)} could not be read`, { key, retryable });
}
