// The union of several pools' listings, one group at a time (a folder; a stream, in the segment
// layout), so that a caller of a store with millions of objects holds one group, not the store.
// Groups come in the order of their folders' keys: an ordered backend (capabilities.orderedList: S3
// and OSS by their protocol, local and Redis by a sorted walk) yields a group's keys together from
// one listing of the parent, without a request per group, and the pools' per-group sequences are
// merged by that order. A listing that failed is never passed off as complete: the iteration throws
// unless the caller asked for partial results.

import type { ObjectInfo } from '../backends/types.js';
import { StorageError } from '../errors.js';
import { assertValidPrefix, compareKeys, RESERVED_PREFIX } from '../keys.js';
import type { ListedObject, PoolFailure } from './manager.js';
import type { StoragePool } from './pool.js';

/** One group (a folder under the listed prefix, or a stream), with what every pool holds of it. */
export interface FolderObjects {
  /** The group's name: the folder's name under the prefix, or what Grouping.groupOf says (a stream). */
  folder: string;
  /** Its objects by key (in no set order); each entry is its highest-priority pool's, with every pool holding it. */
  objects: Map<string, FolderObject>;
  /** Pools whose listing of this folder failed or ended before it: `objects` is then incomplete. */
  failures: PoolFailure[];
}

/** Keys a pool listed under the prefix that belong to no group (no stream of the layout): counted, never hidden. */
export interface UngroupedObjects {
  pool: string;
  count: number;
  /** The first few of them, in listing order. */
  examples: string[];
}

const UNGROUPED_EXAMPLES = 3;

export interface FolderObject extends ListedObject {
  /** The latest modified time any pool reports for the key. */
  newestModified: Date;
}

/** How keys form groups; by default a group is a folder right under the prefix. */
export interface Grouping {
  /** The group `key` belongs to, or undefined to leave the key out. */
  groupOf(key: string): string | undefined;
  /** The folder (ending in "/") that holds every key of `group`. Groups are ordered by it. */
  folderOf(group: string): string;
  /**
   * Each group's keys all lie under its folder and no other group's folder lies under it, so an
   * ordered listing yields them one after another. Otherwise each pool's listing is grouped in memory.
   */
  contiguous: boolean;
}

export interface FolderListingOptions {
  /** Only these groups, each from a listing of its folder. Default: every group, from one listing of the prefix. */
  folders?: readonly string[] | undefined;
  grouping?: Grouping | undefined;
  signal?: AbortSignal | undefined;
  /**
   * Yield folders that some pool could not list, with their `failures`, instead of throwing. The
   * caller then must look at each folder's failures, and at `failures` after the loop (a failed
   * pool may have held folders no other pool names).
   */
  partial?: boolean | undefined;
}

/** Folder names in listing order: by the name followed by "/", as its keys sort. */
export function compareFolders(a: string, b: string): number {
  return compareKeys(`${a}/`, `${b}/`);
}

function folderGrouping(prefix: string): Grouping {
  return {
    groupOf(key) {
      const slash = key.indexOf('/', prefix.length);
      return slash <= prefix.length ? undefined : key.slice(prefix.length, slash);
    },
    folderOf: (group) => `${prefix}${group}/`,
    contiguous: true,
  };
}

/**
 * A folder's objects from one pool (with the failure that cut them short, which `stops` the pool
 * when its later folders cannot be listed either), or the end of that pool's listing.
 */
type PoolStep = { folder: string; objects: Map<string, ObjectInfo>; failure?: PoolFailure; stops?: boolean } | { done: true; failure?: PoolFailure };

/**
 * Every folder under `prefix` (or `options.folders`), in compareFolders order, with the union of
 * the pools' objects in it. Objects directly under the prefix, in no folder, are not yielded: they
 * are counted in `ungrouped`.
 * Without `partial`, the iteration throws an error naming the pools that failed, before the first
 * folder it could not list completely; everything yielded before is complete.
 */
export class FolderListing implements AsyncIterable<FolderObjects> {
  /** Every pool whose listing failed, so far; after the loop, all of them. */
  readonly failures: PoolFailure[] = [];
  /**
   * Per pool, the keys of a whole-prefix listing that no group claims (flux-storage's own
   * `.flux-storage/` keys aside); not counted when `options.folders` names the groups.
   */
  readonly ungrouped: UngroupedObjects[] = [];
  private readonly pools: readonly StoragePool[];
  private readonly prefix: string;
  private readonly options: FolderListingOptions;
  private readonly grouping: Grouping;

  constructor(pools: readonly StoragePool[], prefix: string, options: FolderListingOptions = {}) {
    this.pools = pools;
    this.prefix = assertValidPrefix(prefix);
    this.options = options;
    this.grouping = options.grouping ?? folderGrouping(this.prefix);
  }

  /** The group of a key a whole-prefix listing of `pool` yielded; a key of no group is counted in `ungrouped`. */
  private groupOf(pool: StoragePool, key: string): string | undefined {
    const group = this.grouping.groupOf(key);
    if (group === undefined) this.noteUngrouped(pool, key);
    return group;
  }

  private noteUngrouped(pool: StoragePool, key: string): void {
    if (key.startsWith(RESERVED_PREFIX)) return;
    let entry = this.ungrouped.find((u) => u.pool === pool.name);
    if (entry === undefined) this.ungrouped.push((entry = { pool: pool.name, count: 0, examples: [] }));
    entry.count++;
    if (entry.examples.length < UNGROUPED_EXAMPLES) entry.examples.push(key);
  }

  private compare(a: string, b: string): number {
    return compareKeys(this.grouping.folderOf(a), this.grouping.folderOf(b));
  }

  async *[Symbol.asyncIterator](): AsyncGenerator<FolderObjects> {
    const sources = this.pools.map((pool) => ({ pool, steps: this.steps(pool) }));
    const heads: (PoolStep | undefined)[] = await Promise.all(sources.map(({ steps }) => steps.next().then((r) => (r.done ? undefined : r.value))));
    /** Pools that stopped: every folder after the last one they completed misses their objects. */
    const stopped: PoolFailure[] = [];
    try {
      for (;;) {
        for (const head of heads) if (head !== undefined && 'done' in head && head.failure !== undefined) this.stop(stopped, head.failure);
        let folder: string | undefined;
        for (const head of heads) if (head !== undefined && 'folder' in head && (folder === undefined || this.compare(head.folder, folder) < 0)) folder = head.folder;
        if (folder === undefined) break;
        const objects = new Map<string, FolderObject>();
        const failures: PoolFailure[] = [...stopped];
        const taken: number[] = [];
        heads.forEach((head, index) => {
          if (head === undefined || !('folder' in head) || head.folder !== folder) return;
          taken.push(index);
          const name = sources[index]!.pool.name;
          for (const [key, info] of head.objects) {
            const listed = objects.get(key);
            if (listed === undefined) objects.set(key, { info, pools: [name], newestModified: info.modified });
            else {
              listed.pools.push(name);
              if (info.modified > listed.newestModified) listed.newestModified = info.modified;
            }
          }
          if (head.failure !== undefined) {
            failures.push(head.failure);
            if (head.stops === true) this.stop(stopped, head.failure);
            else if (!this.failures.includes(head.failure)) this.failures.push(head.failure);
          }
        });
        if (failures.length > 0 && this.options.partial !== true) throw incomplete(this.prefix, failures);
        yield { folder, objects, failures };
        await Promise.all(taken.map(async (index) => (heads[index] = await sources[index]!.steps.next().then((r) => (r.done ? undefined : r.value)))));
      }
      if (stopped.length > 0 && this.options.partial !== true) throw incomplete(this.prefix, stopped);
    } finally {
      await Promise.all(sources.map(({ steps }) => steps.return(undefined)));
    }
  }

  private stop(stopped: PoolFailure[], failure: PoolFailure): void {
    if (!stopped.includes(failure)) stopped.push(failure);
    if (!this.failures.includes(failure)) this.failures.push(failure);
  }

  /** One pool's folders in order, each complete, then `done` (with the failure that ended it, if any). */
  private async *steps(pool: StoragePool): AsyncGenerator<PoolStep> {
    const { folders } = this.options;
    if (folders !== undefined) {
      for (const folder of [...new Set(folders)].sort((a, b) => this.compare(a, b))) {
        const folderPrefix = this.grouping.folderOf(folder);
        const objects = new Map<string, ObjectInfo>();
        try {
          // A folder that groups share (a flat layout) holds other groups' keys too.
          for await (const info of pool.list(folderPrefix, { signal: this.options.signal })) if (this.grouping.groupOf(info.key) === folder) objects.set(info.key, info);
          yield { folder, objects };
        } catch (error) {
          yield { folder, objects, failure: { pool: pool.name, error: pool.named(error, folderPrefix) } };
        }
      }
      return;
    }
    if (!pool.backend.capabilities.orderedList || !this.grouping.contiguous) return yield* this.grouped(pool);
    let current: { folder: string; objects: Map<string, ObjectInfo> } | undefined;
    try {
      for await (const info of pool.list(this.prefix, { signal: this.options.signal })) {
        const folder = this.groupOf(pool, info.key);
        if (folder === undefined) continue;
        if (current?.folder !== folder) {
          if (current !== undefined) {
            if (this.compare(current.folder, folder) >= 0) {
              throw new StorageError('Unavailable', `the listing came out of key order (${JSON.stringify(folder)} after ${JSON.stringify(current.folder)}): the store does not list like S3`, { key: this.prefix });
            }
            yield current;
          }
          current = { folder, objects: new Map() };
        }
        current.objects.set(info.key, info);
      }
    } catch (error) {
      const failure = { pool: pool.name, error: pool.named(error, this.prefix) };
      if (current !== undefined) yield { ...current, failure, stops: true };
      yield { done: true, failure };
      return;
    }
    if (current !== undefined) yield current;
  }

  /** A backend that lists in no particular order (or groups that interleave): the whole listing is grouped in memory first. */
  private async *grouped(pool: StoragePool): AsyncGenerator<PoolStep> {
    const byFolder = new Map<string, Map<string, ObjectInfo>>();
    try {
      for await (const info of pool.list(this.prefix, { signal: this.options.signal })) {
        const folder = this.groupOf(pool, info.key);
        if (folder === undefined) continue;
        let objects = byFolder.get(folder);
        if (objects === undefined) byFolder.set(folder, (objects = new Map()));
        objects.set(info.key, info);
      }
    } catch (error) {
      // Which folders were complete cannot be told: every one misses this pool.
      yield { done: true, failure: { pool: pool.name, error: pool.named(error, this.prefix) } };
      return;
    }
    for (const folder of [...byFolder.keys()].sort((a, b) => this.compare(a, b))) yield { folder, objects: byFolder.get(folder)! };
  }
}

/** The error of an incomplete listing: the failures' code where they agree, Unavailable otherwise. */
function incomplete(prefix: string, failures: readonly PoolFailure[]): StorageError {
  const codes = new Set(failures.map((f) => f.error.code));
  const code = codes.size === 1 ? failures[0]!.error.code : 'Unavailable';
  const detail = failures.map((f) => f.error.message).join('; ');
  return new StorageError(code, `the listing of ${prefix} is incomplete (${detail}); ask for partial results to see what the other pools hold`, { key: prefix, cause: failures[0]!.error });
}
