// Retention (the library half of `cleanup`): keep the newest N segments of each stream, never delete
// what a player may still fetch, and never delete anything for a stream that is not fully known.
// Streams come one at a time from the union listing of every pool (a pool given as `pool` limits
// what is deleted, never what protects); playlists are read a few streams ahead, and deletes go in
// batches per pool across streams. A batch that failed is checked again by a listing, so the result
// says what is really gone. Only segments are ever deleted: playlists, master playlists, init files
// (a stream starts with its init file, before any segment), producers' temporary files (*.tmp,
// *.bak, *.part, whatever their age: a slow upload looks like a dead one) and files that match no
// template are left alone; purge removes a retired stream's files.

import pLimit, { type LimitFunction } from 'p-limit';
import { isStorageError, StorageError } from '../errors.js';
import { compareNames } from '../keys.js';
import type { PoolFailure } from '../pool/manager.js';
import type { StoragePool } from '../pool/pool.js';
import { playlistReferences, protectedByPlaylist } from './playlist.js';
import type { SegmentStorage, StreamContents } from './segment-storage.js';
import { inShard, type Shard } from './shard.js';

export interface RetentionOptions {
  /** Segments kept per stream, newest ids first, on top of the protected ones. */
  keepNewest: number;
  /** Streams to clean; undefined for every stream. */
  streams?: readonly string[] | undefined;
  /** Delete from this pool only. Keeping and protection still count every pool's segments and playlists. */
  pool?: string | undefined;
  /** Never delete a segment modified less than this long ago (in any pool). */
  minAgeMs?: number | undefined;
  /**
   * Delete only segments older than this: for time-named ids (`{epoch}`, `{epoch_ms}`, `{time:...}`)
   * by the later of the id's time and the newest modified time in any pool (a producer's clock zone
   * or a copy never makes a segment look older than it is); for sequence ids by the modified time.
   * With `keepNewest`, a segment is deleted only when both would delete it.
   */
  olderThanMs?: number | undefined;
  /** Only the streams of this shard (shard.ts). */
  shard?: Shard | undefined;
  /** Plan only: delete nothing. */
  dryRun?: boolean | undefined;
  /** Delete nothing when the plan deletes more than this many segments (the plan is made first). */
  maxDelete?: number | undefined;
  /** Playlists read at once, across streams and pools (default 16). */
  concurrency?: number | undefined;
  /** Once aborted: no new stream and no new delete; what was deleted is reported. */
  signal?: AbortSignal | undefined;
  onProgress?: ((progress: RetentionProgress) => void) | undefined;
  now?: Date | undefined;
}

export interface RetentionProgress {
  streams: number;
  planned: number;
  deleted: number;
  failed: number;
}

export interface PlannedDeletion {
  id: number;
  key: string;
  /** Pools it is deleted from. */
  pools: string[];
}

export interface StreamPlan {
  stream: string;
  kept: number[];
  /** Outside the newest N, but kept: named by a playlist, before or after its entries, or too recent (--min-age, --older-than). */
  protected: number[];
  delete: PlannedDeletion[];
  /** Pools whose listing (or playlist) failed: nothing is deleted for this stream. */
  failures: PoolFailure[];
}

export interface FailedDeletion {
  id: number;
  key: string;
  pool: string;
  error: StorageError;
}

export interface StreamOutcome extends StreamPlan {
  deleted: PlannedDeletion[];
  failed: FailedDeletion[];
}

export interface RetentionResult {
  streams: StreamOutcome[];
  /** Every pool whose listing failed, including for streams no other pool names. */
  failures: PoolFailure[];
  /** Segments the plan deletes, over all streams. */
  planned: number;
  /** Set when `maxDelete` refused the run: nothing was deleted. */
  refused: boolean;
  /** The signal fired: streams after that point were not handled, or delete batches not sent. */
  interrupted: boolean;
}

const DEFAULT_CONCURRENCY = 16;
/** Keys per deleteMany: one DeleteObjects on S3/OSS, one round trip on Redis. */
const BATCH_KEYS = 1000;
/** deleteMany calls of one pool in flight at once (as many as the S3 backend sends for one call). */
export const BATCHES_PER_POOL = 4;

export async function runRetention(storage: SegmentStorage, options: RetentionOptions): Promise<RetentionResult> {
  if (!Number.isSafeInteger(options.keepNewest) || options.keepNewest < 0) {
    throw new StorageError('InvalidArgument', `keep must be a whole number, 0 or more (got ${options.keepNewest})`);
  }
  for (const [name, value] of [['min age', options.minAgeMs], ['older-than age', options.olderThanMs]] as const) {
    if (value !== undefined && !(Number.isFinite(value) && value >= 0)) throw new StorageError('InvalidArgument', `the ${name} must be a duration of 0 ms or more (got ${value})`);
  }
  if (options.pool !== undefined) storage.manager.pool(options.pool);
  const { signal } = options;
  const limit = pLimit(options.concurrency ?? DEFAULT_CONCURRENCY);
  const holdDeletes = options.dryRun === true || options.maxDelete !== undefined;
  const deleter = new BatchDeleter(storage, signal);
  const outcomes: StreamOutcome[] = [];
  const progress: RetentionProgress = { streams: 0, planned: 0, deleted: 0, failed: 0 };
  const report = (): void => options.onProgress?.({ ...progress, deleted: deleter.deleted, failed: deleter.failed });
  const inFlight = new Set<Promise<void>>();
  // The first error (of the caller's onProgress, or a bug; a pool's failure is a result, not an
  // error): no new stream, no new batch; the batches under way finish before it is thrown, so
  // nothing is still deleting once the call has settled.
  let failure: { error: unknown } | undefined;
  const fail = (error: unknown): void => {
    failure ??= { error };
    deleter.stop();
  };
  // Partial: a pool whose listing failed (or was interrupted) is named in the streams it held.
  const listing = storage.streams({ partial: true, streams: options.streams, signal });
  try {
    for await (const contents of listing) {
      if (signal?.aborted === true || failure !== undefined) break;
      if (options.shard !== undefined && !inShard(contents.stream, options.shard)) continue;
      const handled = limit(() => planStream(storage, contents, options)).then((plan) => {
        const outcome: StreamOutcome = { ...plan, deleted: [], failed: [] };
        outcomes.push(outcome);
        progress.streams++;
        progress.planned += plan.delete.length;
        if (holdDeletes) {
          // The deletions beyond --max-delete are not kept: the run is refused anyway.
          if (options.maxDelete !== undefined && progress.planned > options.maxDelete) outcome.delete = [];
        } else deleter.add(outcome);
        report();
      }).catch(fail);
      inFlight.add(handled);
      void handled.finally(() => inFlight.delete(handled));
      // A few streams ahead of the deletes, never the store.
      if (inFlight.size >= 2 * (options.concurrency ?? DEFAULT_CONCURRENCY)) await Promise.race(inFlight);
    }
  } catch (error) {
    fail(error);
  }
  await Promise.all(inFlight);
  const refused = options.maxDelete !== undefined && progress.planned > options.maxDelete;
  // Held deletes go now; after a signal (while listing or deleting) no batch is sent.
  if (holdDeletes && !refused && options.dryRun !== true && failure === undefined) for (const outcome of outcomes) deleter.add(outcome);
  await deleter.finish();
  if (failure !== undefined) throw failure.error;
  const interrupted = signal?.aborted === true;
  report();
  outcomes.sort((a, b) => compareNames(a.stream, b.stream));
  for (const outcome of outcomes) {
    outcome.deleted.sort((a, b) => a.id - b.id);
    outcome.failed.sort((a, b) => a.id - b.id || compareNames(a.pool, b.pool));
  }
  return { streams: outcomes, failures: listing.failures, planned: progress.planned, refused, interrupted };
}

/** What to keep, protect and delete in one stream; its playlists are read from every pool holding them. */
async function planStream(storage: SegmentStorage, contents: StreamContents, options: RetentionOptions): Promise<StreamPlan> {
  const { stream, segments } = contents;
  const failures = [...contents.failures];
  const ids = segments.map((s) => s.id);
  const guards: ((id: number) => boolean)[] = [];
  await Promise.all(
    contents.playlists.flatMap(({ key, pools }) =>
      pools.map(async (name) => {
        const pool = storage.manager.pool(name);
        try {
          const text = await readPlaylist(pool, key, options.signal);
          if (text !== undefined) guards.push(protectedByPlaylist(playlistReferences(text, storage.layout, stream, key), ids));
        } catch (error) {
          failures.push({ pool: name, error: pool.named(error, key) });
        }
      }),
    ),
  );
  const now = (options.now ?? new Date()).getTime();
  const keepFrom = Math.max(0, segments.length - options.keepNewest);
  const plan: StreamPlan = { stream, kept: ids.slice(keepFrom), protected: [], delete: [], failures };
  const { layout } = storage;
  for (let i = 0; i < keepFrom; i++) {
    const segment = segments[i]!;
    const modified = segment.newestModified.getTime();
    const tooRecent =
      (options.minAgeMs !== undefined && now - modified < options.minAgeMs) ||
      (options.olderThanMs !== undefined && now - Math.max(modified, layout.idTimeMs(segment.id) ?? -Infinity) < options.olderThanMs);
    if (tooRecent || guards.some((guard) => guard(segment.id))) {
      plan.protected.push(segment.id);
      continue;
    }
    const pools = options.pool === undefined ? segment.pools : segment.pools.filter((p) => p === options.pool);
    if (pools.length > 0) plan.delete.push({ id: segment.id, key: segment.key, pools });
  }
  // Unsure about this stream: delete nothing of it.
  if (failures.length > 0) plan.delete = [];
  return plan;
}

async function readPlaylist(pool: StoragePool, key: string, signal: AbortSignal | undefined): Promise<string | undefined> {
  try {
    return (await pool.read(key, { signal })).toString('utf8');
  } catch (error) {
    if (isStorageError(error, 'NotFound')) return undefined;
    throw error;
  }
}

interface BatchEntry {
  key: string;
  id: number;
  outcome: StreamOutcome;
  deletion: PlannedDeletion;
}

/**
 * Deletes planned segments in batches per pool, across streams, up to BATCHES_PER_POOL batches of a
 * pool at a time (a store deletes a 1,000-key batch in a second or so, and takes several at once
 * as readily as one: RGW, S3). A batch that threw, or keys it reports failed, are looked for again
 * by listing their folders: a key that is gone was deleted (a timeout may come after the store did
 * the work).
 */
class BatchDeleter {
  deleted = 0;
  failed = 0;
  private readonly pending = new Map<string, BatchEntry[]>();
  private readonly limits = new Map<string, LimitFunction>();
  private readonly running = new Set<Promise<void>>();
  /** Pools each planned deletion still waits for. */
  private readonly remaining = new Map<PlannedDeletion, number>();
  /** Deletions of batches not sent after a signal, and the outcomes that planned them. */
  private readonly untried = new Set<PlannedDeletion>();
  private readonly untriedOutcomes = new Set<StreamOutcome>();
  private stopped = false;

  constructor(
    private readonly storage: SegmentStorage,
    private readonly signal: AbortSignal | undefined,
  ) {}

  add(outcome: StreamOutcome): void {
    for (const deletion of outcome.delete) {
      this.remaining.set(deletion, deletion.pools.length);
      for (const pool of deletion.pools) {
        let queue = this.pending.get(pool);
        if (queue === undefined) this.pending.set(pool, (queue = []));
        queue.push({ key: deletion.key, id: deletion.id, outcome, deletion });
        if (queue.length >= BATCH_KEYS) {
          this.pending.delete(pool);
          this.send(pool, queue);
        }
      }
    }
  }

  /** No batch is sent from now on (as after the signal). */
  stop(): void {
    this.stopped = true;
  }

  /** Sends what is pending, waits for every batch, and takes the deletions not tried out of their plans. */
  async finish(): Promise<void> {
    for (const [pool, batch] of this.pending) this.send(pool, batch);
    this.pending.clear();
    while (this.running.size > 0) await Promise.all(this.running);
    for (const outcome of this.untriedOutcomes) outcome.delete = outcome.delete.filter((d) => !this.untried.has(d));
  }

  private send(name: string, batch: BatchEntry[]): void {
    let limit = this.limits.get(name);
    if (limit === undefined) this.limits.set(name, (limit = pLimit(BATCHES_PER_POOL)));
    const run = limit(() => this.deleteBatch(name, batch));
    this.running.add(run);
    void run.finally(() => this.running.delete(run));
  }

  private async deleteBatch(name: string, batch: BatchEntry[]): Promise<void> {
    const pool = this.storage.manager.pool(name);
    const failedKeys = new Map<string, StorageError>();
    if (this.stopped || this.signal?.aborted === true) {
      // Interrupted (or stopped by an error) before this batch started: it is not tried, and not reported as failed.
      for (const entry of batch) {
        this.untried.add(entry.deletion);
        this.untriedOutcomes.add(entry.outcome);
      }
      return;
    }
    try {
      const result = await pool.deleteMany(
        batch.map((entry) => entry.key),
        { signal: this.signal },
      );
      for (const { key, error } of result.failed) failedKeys.set(key, pool.named(error, key));
    } catch (error) {
      for (const entry of batch) failedKeys.set(entry.key, pool.named(error, entry.key));
    }
    if (failedKeys.size > 0) for (const key of await this.goneAfterAll(pool, [...failedKeys.keys()], failedKeys)) failedKeys.delete(key);
    for (const entry of batch) {
      const error = failedKeys.get(entry.key);
      if (error !== undefined) {
        entry.outcome.failed.push({ id: entry.id, key: entry.key, pool: name, error });
        this.failed++;
      }
      const left = this.remaining.get(entry.deletion)! - 1;
      this.remaining.set(entry.deletion, left);
      // A segment is deleted once it is gone from every pool it was planned for.
      if (left === 0 && !entry.outcome.failed.some((f) => f.key === entry.key)) {
        entry.outcome.deleted.push(entry.deletion);
        this.deleted++;
      }
    }
  }

  /**
   * Of keys whose delete failed, those that are gone after all (returned): one listing of each
   * folder they are in, without the interrupt signal so that an interrupted run still learns what
   * it deleted. When that listing fails too, the keys stay failed.
   */
  private async goneAfterAll(pool: StoragePool, keys: string[], errors: Map<string, StorageError>): Promise<string[]> {
    const byFolder = new Map<string, Set<string>>();
    for (const key of keys) {
      const folder = key.slice(0, key.lastIndexOf('/') + 1);
      let set = byFolder.get(folder);
      if (set === undefined) byFolder.set(folder, (set = new Set()));
      set.add(key);
    }
    const gone: string[] = [];
    for (const [folder, wanted] of byFolder) {
      try {
        const present = new Set<string>();
        for await (const info of pool.list(folder)) if (wanted.has(info.key)) present.add(info.key);
        for (const key of wanted) if (!present.has(key)) gone.push(key);
      } catch (error) {
        for (const key of wanted) {
          const first = errors.get(key)!;
          errors.set(key, new StorageError(first.code, `${first.detail}; checking whether it was deleted failed too (${pool.named(error, folder).detail})`, { pool: pool.name, backend: pool.type, key, cause: first }));
        }
      }
    }
    this.storage.manager.forget(gone);
    return gone;
  }
}
