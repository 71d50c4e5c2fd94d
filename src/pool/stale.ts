// Read your write across pools. When a write of a key lands in a pool other than the first one
// reads try (the preferred pool is full, read-only or failing), an older copy of the key in a pool
// read before it would win every later read: a live playlist rewritten every few seconds would
// freeze for players. So after such a write, the older copies in those pools are deleted.
//
// Why removal rather than comparing versions on read: comparing costs every read a request to
// every pool, forever; removal costs a request only on a write that failed over (the common path,
// a write to the first pool of read order, sends nothing more), and a reader in another process
// (a CLI `get`, a second server) then reads the new bytes too, with nothing to compare.
//
// Removal is only safe once the two pools are proven to be different stores: two pool entries can
// reach one store (one folder spelled two ways, one bucket), and deleting the "older copy" there
// would delete the bytes just written. The proof is sameStore()'s marker object; until it proves
// "different", nothing is deleted.
//
// A copy that could not be removed (its pool down, its delete refused, no proof) is remembered:
// reads in this process skip that pool for that key, and retry the removal once the pool answers
// again. Another process cannot know of it; the write's outcome names the pool (`put` warns).

import { StorageError } from '../errors.js';
import type { PoolFailure } from './manager.js';
import type { StoragePool } from './pool.js';

/** Whether two pools reach one store: true, false, or a throw when it cannot tell (see same-store.ts). */
export type SameStoreCheck = (a: StoragePool, b: StoragePool) => Promise<boolean>;

/** Keys remembered with a copy that could not be removed (bounded, oldest dropped). */
const MAX_REMEMBERED = 10_000;

export class StaleCopies {
  private readonly byKey = new Map<string, Map<string, StorageError>>();
  private readonly proven = new Map<string, boolean>();
  private readonly pools: readonly StoragePool[];
  private readonly sameStore: SameStoreCheck;

  constructor(pools: readonly StoragePool[], sameStore: SameStoreCheck) {
    this.pools = pools;
    this.sameStore = sameStore;
  }

  has(key: string): boolean {
    return this.byKey.has(key);
  }

  /** Pools known to hold an older copy of the key. */
  poolsOf(key: string): ReadonlySet<string> | undefined {
    const entry = this.byKey.get(key);
    return entry === undefined ? undefined : new Set(entry.keys());
  }

  forget(key: string): void {
    this.byKey.delete(key);
  }

  /**
   * After `key` was written to `landed`: deletes the key from every pool read before it (priority
   * order) and from `previous` (the pool this process last wrote it to), each once proven another
   * store. Returns the pools whose copy may remain, and remembers them.
   */
  async afterWrite(key: string, landed: StoragePool, previous: string | undefined): Promise<PoolFailure[]> {
    const rank = this.pools.indexOf(landed);
    const targets = this.pools.filter((pool, index) => pool !== landed && (index < rank || pool.name === previous));
    this.byKey.delete(key);
    if (targets.length === 0) return [];
    const remaining = (await Promise.all(targets.map((target) => this.remove(key, landed, target)))).filter((f): f is PoolFailure => f !== undefined);
    this.remember(key, remaining);
    return remaining;
  }

  /** Retries removing the remembered copies of `key` from the pools that are not known to be down. */
  async retry(key: string, holder: StoragePool | undefined): Promise<void> {
    const entry = this.byKey.get(key);
    if (entry === undefined || holder === undefined) return;
    // The deletes below make the manager forget the key; the entry is put back from the results.
    const results = await Promise.all(
      [...entry].map(async ([name, error]) => {
        const target = this.pools.find((p) => p.name === name);
        if (target === undefined) return undefined;
        return target.knownDown ? { pool: name, error } : this.remove(key, holder, target);
      }),
    );
    this.byKey.delete(key);
    this.remember(key, results.filter((f): f is PoolFailure => f !== undefined));
  }

  private remember(key: string, failures: readonly PoolFailure[]): void {
    if (failures.length === 0) return;
    this.byKey.set(key, new Map(failures.map((f) => [f.pool, f.error])));
    if (this.byKey.size > MAX_REMEMBERED) this.byKey.delete(this.byKey.keys().next().value as string);
  }

  /** Deletes the older copy from `target` once proven another store; the failure otherwise. */
  private async remove(key: string, landed: StoragePool, target: StoragePool): Promise<PoolFailure | undefined> {
    if (target.knownDown) {
      return { pool: target.name, error: new StorageError('Unavailable', 'an older copy may remain: the pool is down (it is retried after its back-off)', { pool: target.name, backend: target.type, key }) };
    }
    try {
      if (await this.isSameStore(landed, target)) return undefined;
      await target.delete(key);
      return undefined;
    } catch (error) {
      const cause = target.named(error, key);
      return { pool: target.name, error: new StorageError(cause.code, `an older copy may remain: ${cause.detail}`, { pool: target.name, backend: target.type, key, retryable: cause.retryable, cause }) };
    }
  }

  private async isSameStore(a: StoragePool, b: StoragePool): Promise<boolean> {
    const pair = [a.name, b.name].sort().join('\u0000');
    const known = this.proven.get(pair);
    if (known !== undefined) return known;
    const same = await this.sameStore(a, b);
    this.proven.set(pair, same);
    return same;
  }
}
