// The library half of `migrate`: copy every object of the chosen streams from one pool to another,
// with at most `concurrency` objects in flight, each copy proven before its source is deleted.
// Resumable by re-running: objects already at the destination, with the same bytes, are skipped.
// Refused before anything changes when the two pools turn out to be one store.
// Order, on every layout, so that a player of the destination never meets a name it cannot fetch:
// a stream's init file (fMP4) before any of its segments, playlists once every segment is done,
// master playlists once every (variant) playlist is. A producer's temporary files are not copied.

import { isStorageError, StorageError, toStorageError } from '../errors.js';
import type { ObjectInfo } from '../backends/types.js';
import type { StoragePool } from '../pool/pool.js';
import { assertWritable } from '../pool/policy.js';
import { sameStore } from '../pool/same-store.js';
import type { SegmentLayout } from '../segments/layout.js';
import { inShard, type Shard } from '../segments/shard.js';
import { copyObject, StageFailure, type CopyContext, type MigrateStage } from './copy.js';
import { DestinationIndex } from './destination-index.js';
import { SharedBuffers } from './buffers.js';
import { Md5Hasher } from './md5-worker.js';
import { Slots } from './slots.js';

export type { MigrateStage } from './copy.js';

export interface MigrateOptions {
  from: StoragePool;
  to: StoragePool;
  layout: SegmentLayout;
  /** Streams to copy; undefined for every object under the layout prefix. */
  streams?: readonly string[] | undefined;
  /** Only the streams of this shard (see segments/shard.ts); objects outside a stream folder by their first path part. */
  shard?: Shard | undefined;
  /** Objects copied at once (and so, at most, held in memory). */
  concurrency: number;
  /** Delete each source object once its copy is proven identical. */
  deleteSource: boolean;
  /** Plan only: list, compare, report; write and delete nothing. */
  dryRun: boolean;
  /** Also read back every copy and compare it with the bytes read. */
  checksum: boolean;
  /** Skip an object the destination holds with the same size, without comparing content. Not with deleteSource. */
  sizeOnly?: boolean | undefined;
  /** In a dry run, keep the key of every object that would be copied (summary.plan.keys). */
  keepPlannedKeys?: boolean | undefined;
  /** Abort to stop starting new copies; in-flight ones finish. */
  signal?: AbortSignal | undefined;
  /** Progress, at most every 250 ms. When set, a second listing counts the objects for a total. */
  onProgress?: ((progress: MigrateProgress) => void) | undefined;
}

export interface MigrateFailure {
  key: string;
  stage: MigrateStage;
  error: StorageError;
}

export interface MigrateProgress {
  /** Objects listed so far (the total, once listing is done). */
  listed: number;
  listingDone: boolean;
  /** Objects and bytes of the whole run, once a listing has finished (null before). */
  total: { objects: number; bytes: number } | null;
  /** Objects done with (copied, skipped or failed) and their sizes at the source. */
  processed: number;
  processedBytes: number;
  copied: number;
  skipped: number;
  deleted: number;
  failed: number;
  bytes: number;
  elapsedMs: number;
}

/** What a dry run found for one stream: objects (and bytes) it would copy, and those already there. */
export interface StreamPlan {
  stream: string;
  copy: number;
  copyBytes: number;
  skip: number;
}

export interface MigrateSummary extends MigrateProgress {
  planned: number;
  failures: MigrateFailure[];
  /** Bytes copied per second. */
  rate: number;
  interrupted: boolean;
  dryRun: boolean;
  /** Dry runs only: per stream (by name), and the keys when keepPlannedKeys asked for them. */
  plan?: { streams: StreamPlan[]; keys?: string[] } | undefined;
  /** Streams asked for (`streams`) of which the source listed nothing: a typo, or a stream elsewhere. */
  unknownStreams: string[];
  /** Producers' temporary files (`*.tmp`, `*.bak`, `*.part`) listed and not copied (nor deleted): being written. */
  temp: { count: number; bytes: number; keys: string[] };
  /** Files under the layout that are no segment, playlist or init file (copied as they are, and counted here). */
  others: number;
}

const PROGRESS_EVERY_MS = 250;

/** Source deletes are sent in batches of this many proven keys. */
const DELETE_BATCH = 500;

/** Temporary files' keys kept in the summary (their count is always whole). */
const TEMP_KEYS_KEPT = 100;

export async function migrate(options: MigrateOptions): Promise<MigrateSummary> {
  const { from, to, layout } = options;
  if (from.name === to.name) throw new StorageError('InvalidArgument', `--from and --to are the same pool "${from.name}"`);
  // --to a read-only pool: refused as a whole (exit 2), not as one failed write per object.
  assertWritable({ name: to.name, readOnly: to.config.readOnly });
  if (!Number.isSafeInteger(options.concurrency) || options.concurrency < 1) {
    throw new StorageError('InvalidArgument', 'concurrency must be a whole number, 1 or more');
  }
  if (options.sizeOnly === true && options.deleteSource) {
    throw new StorageError('InvalidArgument', '--size-only cannot be combined with --delete-source: a source is deleted only once its copy is proven to hold the same bytes');
  }
  if (options.sizeOnly === true && options.checksum) throw new StorageError('InvalidArgument', '--size-only and --checksum contradict each other: choose one');
  // Before anything is written or deleted: two pool entries can reach one store (one folder under
  // two spellings, one bucket, one Redis database and prefix), and then "already there" is true of
  // everything and deleting the source deletes the only copy.
  const hasher = new Md5Hasher();
  // Copies are proven by md5: the worker that computes them boots meanwhile (a dry run copies nothing).
  if (!options.dryRun) hasher.warm();
  let oneStore: boolean;
  try {
    oneStore = await sameStore(from, to, { signal: options.signal });
  } catch (error) {
    await hasher.close();
    throw error;
  }
  if (oneStore) {
    await hasher.close();
    throw new StorageError(
      'InvalidArgument',
      `pools "${from.name}" and "${to.name}" are one store (a marker object written through one was found through the other): nothing to migrate between them, and deleting from "${from.name}" would delete the only copy`,
    );
  }

  const started = performance.now();
  const state: MigrateProgress = { listed: 0, listingDone: false, total: null, processed: 0, processedBytes: 0, copied: 0, skipped: 0, deleted: 0, failed: 0, bytes: 0, elapsedMs: 0 };
  let listedBytes = 0;
  const failures: MigrateFailure[] = [];
  const fail = (key: string, stage: MigrateStage, error: unknown): void => {
    // A call cut short by Ctrl-C (the CLI aborts calls in flight) is not a failure: the object is
    // simply not done, and a re-run does it.
    if (options.signal?.aborted === true && isStorageError(error, 'Interrupted')) return;
    state.failed++;
    failures.push({ key, stage, error: toStorageError(error, { key }) });
  };
  let reportedAt = 0;
  const report = (force = false): void => {
    const now = performance.now();
    if (options.onProgress === undefined || (!force && now - reportedAt < PROGRESS_EVERY_MS)) return;
    reportedAt = now;
    options.onProgress({ ...state, elapsedMs: now - started });
  };

  let pendingDeletes: string[] = [];
  const flushDeletes = async (): Promise<void> => {
    const keys = pendingDeletes;
    pendingDeletes = [];
    if (keys.length === 0) return;
    try {
      const result = await from.deleteMany(keys);
      state.deleted += result.deleted.length;
      for (const { key, error } of result.failed) fail(key, 'delete', error);
    } catch (error) {
      for (const key of keys) fail(key, 'delete', error);
    }
  };

  const plans = new Map<string, StreamPlan>();
  const plannedKeys: string[] | undefined = options.dryRun && options.keepPlannedKeys === true ? [] : undefined;
  const shardName = (key: string): string => layout.parse(key)?.stream ?? key.slice(layout.root.length).split('/')[0]!;
  const copyContext: CopyContext = {
    from,
    to,
    destination: new DestinationIndex(to, layout),
    hasher,
    buffers: new SharedBuffers(),
    // Reads go into reused buffers, each given back only after every call it was lent to succeeded:
    // the layers settle a call only once its attempts have (no retry overlaps an attempt a timeout
    // gave up on), so nothing uses it any more. After any failure it is dropped, never reused: an
    // aborted call may still hold it (a request being sent, a command queued on a socket).
    reuseBuffers: true,
    sizeOnly: options.sizeOnly === true,
    readBack: options.checksum,
    prove: options.deleteSource,
    dryRun: options.dryRun,
  };

  /** Copies one object (or skips it when the destination holds the same bytes), then queues its source delete. */
  const transfer = async (source: ObjectInfo): Promise<void> => {
    try {
      const outcome = await copyObject(copyContext, source);
      if (outcome.action === 'copied') state.copied++;
      else state.skipped++;
      state.bytes += outcome.bytes;
      if (options.dryRun) recordPlan(source, outcome.action);
      else if (options.deleteSource) pendingDeletes.push(source.key);
    } catch (error) {
      if (error instanceof StageFailure) fail(source.key, error.stage, error.error);
      else fail(source.key, 'write', error);
    } finally {
      state.processed++;
      state.processedBytes += source.size;
      if (pendingDeletes.length >= DELETE_BATCH) await flushDeletes();
      report();
    }
  };
  const recordPlan = (source: ObjectInfo, action: 'copied' | 'skipped'): void => {
    const stream = shardName(source.key);
    let plan = plans.get(stream);
    if (plan === undefined) plans.set(stream, (plan = { stream, copy: 0, copyBytes: 0, skip: 0 }));
    if (action === 'skipped') plan.skip++;
    else {
      plan.copy++;
      plan.copyBytes += source.size;
      plannedKeys?.push(source.key);
    }
  };

  const streams = options.streams?.filter((stream) => options.shard === undefined || inShard(stream, options.shard));
  // Where streams share a folder (flat layouts, an SRS app's folder), one listing serves them all;
  // every listed key is kept only when it parses as one of the chosen streams' files.
  // A variant layout's `cam1` (the stream of the master playlist) stands for its master and every variant.
  const prefixes = streams === undefined ? [layout.root] : [...new Set(streams.map((s) => layout.groupPrefix(s)))];
  const chosen = streams === undefined ? undefined : new Set(streams);
  const groups = streams?.filter((s) => !isStream(layout, s)) ?? [];
  /** The chosen stream a listed key belongs to ('' for none). */
  const chosenOf = (key: string): string => {
    const stream = layout.parse(key)?.stream ?? '';
    if (chosen === undefined || chosen.has(stream)) return stream;
    return groups.find((group) => stream.startsWith(`${group}/`)) ?? '';
  };
  const wanted = (info: ObjectInfo): boolean => {
    if (chosen !== undefined) return chosenOf(info.key) !== '';
    return options.shard === undefined || inShard(shardName(info.key), options.shard);
  };
  const isTemp = (info: ObjectInfo): boolean => layout.parse(info.key)?.kind === 'temp';
  const counting = new AbortController();
  if (options.onProgress !== undefined) {
    void countObjects(from, prefixes, (info) => wanted(info) && !isTemp(info), counting.signal).then((total) => {
      if (total !== null && !state.listingDone) state.total = total;
    });
  }

  const slots = new Slots(options.concurrency);
  const playlists: ObjectInfo[] = [];
  const masters: ObjectInfo[] = [];
  const temp = { count: 0, bytes: 0, keys: [] as string[] };
  let others = 0;
  const seenStreams = new Set<string>();
  const listed = (info: ObjectInfo): void => {
    state.listed++;
    listedBytes += info.size;
  };
  /** Copies one object in a slot of its own; resolves once it is done with (copied, skipped or failed). */
  const transferInSlot = async (info: ObjectInfo): Promise<void> => {
    await slots.acquire();
    await transfer(info).finally(() => slots.release());
  };
  // fMP4: a stream's init file is copied, and done with, before any other file of the stream is
  // started, wherever the listing puts it (`init.mp4` sorts after `index0.m4s`). Keyed by stream;
  // the value settles once the init file is done with (or found absent at the source).
  const initsDone = new Map<string, Promise<void>>();
  const initFirst = (stream: string, listedInit?: ObjectInfo): Promise<void> => {
    let done = initsDone.get(stream);
    if (done === undefined) {
      done = (async () => {
        let info = listedInit;
        if (info === undefined) {
          let key: string | undefined;
          try {
            key = layout.initKey(stream);
            if (key === undefined) return;
            info = await from.stat(key, { signal: options.signal });
          } catch (error) {
            if (!isStorageError(error, 'NotFound')) fail(key ?? stream, 'read', error);
            return;
          }
        }
        listed(info);
        await transferInSlot(info);
      })();
      initsDone.set(stream, done);
    }
    return done;
  };
  /** Copies `infos` (playlists, then masters) once everything before them is done, or fails them all with the reason. */
  const copyLast = async (infos: readonly ObjectInfo[], what: string): Promise<void> => {
    if (infos.length === 0 || options.signal?.aborted) return;
    if (failures.some((f) => f.stage !== 'delete')) {
      for (const info of infos) fail(info.key, 'write', new StorageError('Interrupted', `${what} not copied, because some files of the run failed: re-run to finish`));
      return;
    }
    for (const info of infos) {
      await slots.acquire();
      void transfer(info).finally(() => slots.release());
    }
    await slots.drain();
  };
  const progressTimer = setInterval(() => report(true), PROGRESS_EVERY_MS);
  progressTimer.unref();
  try {
    for (const prefix of prefixes) {
      if (options.signal?.aborted) break;
      try {
        for await (const info of from.list(prefix)) {
          if (!wanted(info)) continue;
          const parsed = layout.parse(info.key);
          if (streams !== undefined) seenStreams.add(chosenOf(info.key));
          if (parsed?.kind === 'temp') {
            // Being written by the producer: a copy would be of half a file, under a name no player asks for.
            temp.count++;
            temp.bytes += info.size;
            if (temp.keys.length < TEMP_KEYS_KEPT) temp.keys.push(info.key);
            continue;
          }
          if (parsed?.kind === 'init') {
            if (!initsDone.has(parsed.stream)) await initFirst(parsed.stream, info);
            continue;
          }
          listed(info);
          // Playlists go last, so a player of the destination never sees one that names a missing
          // segment; master playlists after them, so it never sees one naming a missing variant.
          if (parsed?.kind === 'playlist') {
            playlists.push(info);
            continue;
          }
          if (parsed?.kind === 'master') {
            masters.push(info);
            continue;
          }
          if (parsed === undefined || parsed.kind === 'other') others++;
          if (parsed !== undefined && layout.hasInit) await initFirst(parsed.stream);
          await slots.acquire();
          if (options.signal?.aborted) {
            slots.release();
            break;
          }
          void transfer(info).finally(() => slots.release());
        }
      } catch (error) {
        fail(prefix, 'list', error);
      }
    }
    state.listingDone = true;
    counting.abort();
    if (!options.signal?.aborted) state.total = { objects: state.listed, bytes: listedBytes };
    await slots.drain();
    await copyLast(playlists, 'playlist');
    await copyLast(masters, 'master playlist');
    if (!options.dryRun) await flushDeletes();
  } finally {
    counting.abort();
    clearInterval(progressTimer);
    await hasher.close();
  }
  const elapsedMs = performance.now() - started;
  report(true);
  const plan = options.dryRun ? { streams: [...plans.values()].sort((a, b) => (a.stream < b.stream ? -1 : 1)), ...(plannedKeys === undefined ? {} : { keys: plannedKeys }) } : undefined;
  return {
    ...state,
    elapsedMs,
    planned: state.listed,
    unknownStreams: streams === undefined || options.signal?.aborted === true || failures.some((f) => f.stage === 'list') ? [] : streams.filter((s) => !seenStreams.has(s)),
    failures,
    rate: elapsedMs > 0 ? state.bytes / (elapsedMs / 1000) : 0,
    interrupted: options.signal?.aborted === true,
    dryRun: options.dryRun,
    plan,
    temp,
    others,
  };
}

function isStream(layout: SegmentLayout, name: string): boolean {
  try {
    layout.assertStream(name);
    return true;
  } catch {
    return false;
  }
}

/**
 * Objects and bytes under `prefixes`, by a listing of their own beside the one that feeds the copies
 * (which is held back by them): the total for a percentage and an ETA, early. Null when a listing
 * fails or it is stopped; the copying listing reports failures.
 */
async function countObjects(from: StoragePool, prefixes: readonly string[], wanted: (info: ObjectInfo) => boolean, signal: AbortSignal): Promise<{ objects: number; bytes: number } | null> {
  let objects = 0;
  let bytes = 0;
  try {
    for (const prefix of prefixes) {
      for await (const info of from.list(prefix, { signal })) {
        if (signal.aborted) return null;
        if (!wanted(info)) continue;
        objects++;
        bytes += info.size;
      }
    }
    return signal.aborted ? null : { objects, bytes };
  } catch {
    return null;
  }
}
