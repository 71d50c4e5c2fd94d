// Retention (the library half of `cleanup`): keep the newest N segments of each stream, never delete
// what a player may still fetch, and never delete anything for a stream whose listing failed.

import { isStorageError, StorageError } from '../errors.js';
import type { PoolFailure } from '../pool/manager.js';
import type { StoragePool } from '../pool/pool.js';
import { parsePlaylist, protectedByPlaylist } from './playlist.js';
import type { SegmentStorage } from './segment-storage.js';
import { compareNames } from '../keys.js';

export interface RetentionOptions {
  /** Segments kept per stream, newest ids first, on top of the protected ones. */
  keepNewest: number;
  /** Streams to clean; undefined for every stream. */
  streams?: readonly string[] | undefined;
  /** Only this pool (listing, playlists and deletes). */
  pool?: string | undefined;
  /** Never delete a segment modified less than this long ago (in any pool). */
  minAgeMs?: number | undefined;
  now?: Date;
}

export interface PlannedDeletion {
  id: number;
  key: string;
  /** Pools holding it: it is deleted from each. */
  pools: string[];
}

export interface StreamPlan {
  stream: string;
  kept: number[];
  /** Outside the newest N, but kept: named by a playlist, in its grace window, or too recent. */
  protected: number[];
  delete: PlannedDeletion[];
  /** Pools whose listing (or playlist) failed: nothing is deleted for this stream. */
  failures: PoolFailure[];
}

export interface RetentionPlan {
  streams: StreamPlan[];
  /** Every failed listing, including one of the whole layout that no stream can be named for. */
  failures: PoolFailure[];
  /** Segments to delete across all streams. */
  deleteCount: number;
}

export interface RetentionResult {
  streams: (StreamPlan & { deleted: PlannedDeletion[]; failed: { id: number; key: string; pool: string; error: StorageError }[] })[];
}

interface Listed {
  id: number;
  key: string;
  pools: string[];
  newestModified: number;
}

export async function planRetention(storage: SegmentStorage, options: RetentionOptions): Promise<RetentionPlan> {
  if (!Number.isSafeInteger(options.keepNewest) || options.keepNewest < 0) {
    throw new StorageError('InvalidArgument', `keep must be a whole number, 0 or more (got ${options.keepNewest})`);
  }
  const pools = storage.manager.poolsFor(options.pool);
  const { byStream, failures } = await listByStream(storage, pools, options.streams);
  const now = (options.now ?? new Date()).getTime();
  const plans: StreamPlan[] = [];
  for (const [stream, segments] of byStream) {
    const streamFailures = [...failures.filter((f) => f.stream === undefined || f.stream === stream).map((f) => f.failure)];
    const sorted = [...segments.values()].sort((a, b) => a.id - b.id);
    const ids = sorted.map((s) => s.id);
    const guarded = new Set<number>();
    for (const pool of pools) {
      try {
        const text = await readPlaylist(storage, pool, stream);
        if (text !== undefined) for (const id of protectedByPlaylist(parsePlaylist(text), ids)) guarded.add(id);
      } catch (error) {
        streamFailures.push({ pool: pool.name, error: pool.named(error, storage.layout.playlistKey(stream)) });
      }
    }
    const keep = new Set(ids.slice(Math.max(0, ids.length - options.keepNewest)));
    const plan: StreamPlan = { stream, kept: [...keep], protected: [], delete: [], failures: streamFailures };
    for (const segment of sorted) {
      if (keep.has(segment.id)) continue;
      const tooRecent = options.minAgeMs !== undefined && now - segment.newestModified < options.minAgeMs;
      if (guarded.has(segment.id) || tooRecent) plan.protected.push(segment.id);
      else plan.delete.push({ id: segment.id, key: segment.key, pools: segment.pools });
    }
    // Unsure about this stream: delete nothing of it.
    if (streamFailures.length > 0) plan.delete = [];
    plans.push(plan);
  }
  plans.sort((a, b) => compareNames(a.stream, b.stream));
  return { streams: plans, failures: failures.map((f) => f.failure), deleteCount: plans.reduce((n, p) => n + p.delete.length, 0) };
}

/**
 * Deletes what the plan says, in batches per pool across all streams (one DeleteObjects per 1000
 * keys on S3, one round trip on Redis, parallel on local). A key already gone counts as deleted,
 * so two runs at once converge.
 */
export async function executeRetention(storage: SegmentStorage, plan: RetentionPlan): Promise<RetentionResult> {
  const keysByPool = new Map<string, string[]>();
  for (const stream of plan.streams) {
    for (const deletion of stream.delete) {
      for (const pool of deletion.pools) {
        const keys = keysByPool.get(pool) ?? [];
        keys.push(deletion.key);
        keysByPool.set(pool, keys);
      }
    }
  }
  const failedByKey = new Map<string, { pool: string; error: StorageError }[]>();
  await Promise.all(
    [...keysByPool].map(async ([name, keys]) => {
      const pool = storage.manager.pool(name);
      let failed: { key: string; error: Error }[];
      try {
        failed = (await pool.deleteMany(keys)).failed;
      } catch (error) {
        failed = keys.map((key) => ({ key, error: error as Error }));
      }
      for (const { key, error } of failed) {
        const list = failedByKey.get(key) ?? [];
        list.push({ pool: name, error: pool.named(error, key) });
        failedByKey.set(key, list);
      }
    }),
  );
  return {
    streams: plan.streams.map((stream) => {
      const failed = stream.delete.flatMap((d) => (failedByKey.get(d.key) ?? []).map((f) => ({ id: d.id, key: d.key, ...f })));
      const deleted = stream.delete.filter((d) => !failedByKey.has(d.key));
      return { ...stream, deleted, failed };
    }),
  };
}

async function readPlaylist(storage: SegmentStorage, pool: StoragePool, stream: string): Promise<string | undefined> {
  try {
    return (await pool.read(storage.layout.playlistKey(stream))).toString('utf8');
  } catch (error) {
    if (isStorageError(error, 'NotFound')) return undefined;
    throw error;
  }
}

/** The union of the pools' listings, grouped by stream; a failed listing is kept with its stream. */
async function listByStream(storage: SegmentStorage, pools: readonly StoragePool[], streams: readonly string[] | undefined) {
  const byStream = new Map<string, Map<number, Listed>>();
  const failures: { stream: string | undefined; failure: PoolFailure }[] = [];
  const prefixes = streams === undefined ? [{ stream: undefined, prefix: storage.layout.root }] : streams.map((stream) => ({ stream, prefix: storage.layout.streamPrefix(stream) }));
  for (const stream of streams ?? []) byStream.set(stream, new Map());
  await Promise.all(
    pools.flatMap((pool) =>
      prefixes.map(async ({ stream, prefix }) => {
        try {
          for await (const info of pool.list(prefix)) {
            const parsed = storage.layout.parse(info.key);
            if (parsed === undefined) continue;
            let segments = byStream.get(parsed.stream);
            if (segments === undefined) byStream.set(parsed.stream, (segments = new Map()));
            if (parsed.kind !== 'segment') continue;
            const listed = segments.get(parsed.id);
            const modified = info.modified.getTime();
            if (listed === undefined) segments.set(parsed.id, { id: parsed.id, key: info.key, pools: [pool.name], newestModified: modified });
            else {
              listed.pools.push(pool.name);
              listed.newestModified = Math.max(listed.newestModified, modified);
            }
          }
        } catch (error) {
          failures.push({ stream, failure: { pool: pool.name, error: pool.named(error, prefix) } });
        }
      }),
    ),
  );
  const order = pools.map((p) => p.name);
  for (const segments of byStream.values()) for (const s of segments.values()) s.pools.sort((a, b) => order.indexOf(a) - order.indexOf(b));
  return { byStream, failures };
}
