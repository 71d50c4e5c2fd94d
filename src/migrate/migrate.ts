// The library half of `migrate`: copy every object of the chosen streams from one pool to another,
// with at most `concurrency` objects in flight, each copy verified before its source is deleted.
// Resumable by re-running: objects already at the destination, verified, are skipped.

import { StorageError, toStorageError } from '../errors.js';
import type { ObjectInfo } from '../backends/types.js';
import type { StoragePool } from '../pool/pool.js';
import type { SegmentLayout } from '../segments/layout.js';
import { DestinationIndex } from './destination-index.js';
import { SharedBuffers } from './buffers.js';
import { Md5Hasher } from './md5-worker.js';
import { requireCommonJs } from '../commonjs.js';

const { createHash } = requireCommonJs<typeof import('node:crypto')>('node:crypto');

export interface MigrateOptions {
  from: StoragePool;
  to: StoragePool;
  layout: SegmentLayout;
  /** Streams to copy; undefined for every object under the layout prefix. */
  streams?: readonly string[] | undefined;
  /** Objects copied at once (and so, at most, held in memory). */
  concurrency: number;
  /** Delete each source object once its copy is verified. */
  deleteSource: boolean;
  /** Plan only: list, compare, report; write and delete nothing. */
  dryRun: boolean;
  /** Compare content (md5), not only size: skip only identical objects, read back every copy. */
  checksum: boolean;
  /** Abort to stop starting new copies; in-flight ones finish. */
  signal?: AbortSignal | undefined;
  onProgress?: (progress: MigrateProgress) => void;
}

export interface MigrateFailure {
  key: string;
  stage: 'list' | 'read' | 'write' | 'verify' | 'delete';
  error: StorageError;
}

export interface MigrateProgress {
  /** Objects listed so far (the total, once listing is done). */
  listed: number;
  listingDone: boolean;
  copied: number;
  skipped: number;
  deleted: number;
  failed: number;
  bytes: number;
  elapsedMs: number;
}

export interface MigrateSummary extends MigrateProgress {
  planned: number;
  failures: MigrateFailure[];
  /** Bytes copied per second. */
  rate: number;
  interrupted: boolean;
  dryRun: boolean;
}

const PROGRESS_EVERY_MS = 250;

/** Source deletes are sent in batches of this many verified keys. */
const DELETE_BATCH = 500;

const md5 = (data: Uint8Array): string => createHash('md5').update(data).digest('hex');

export async function migrate(options: MigrateOptions): Promise<MigrateSummary> {
  const { from, to } = options;
  if (from.name === to.name) throw new StorageError('InvalidArgument', `--from and --to are the same pool "${from.name}"`);
  if (!Number.isSafeInteger(options.concurrency) || options.concurrency < 1) {
    throw new StorageError('InvalidArgument', 'concurrency must be a whole number, 1 or more');
  }
  const started = performance.now();
  const state: MigrateProgress = { listed: 0, listingDone: false, copied: 0, skipped: 0, deleted: 0, failed: 0, bytes: 0, elapsedMs: 0 };
  const failures: MigrateFailure[] = [];
  const fail = (key: string, stage: MigrateFailure['stage'], error: unknown): void => {
    state.failed++;
    failures.push({ key, stage, error: toStorageError(error, { key }) });
  };
  // Progress goes out at most every PROGRESS_EVERY_MS (and once at the end): building it per object
  // would cost more than a small copy.
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

  const destination = new DestinationIndex(to, options.layout);
  const hasher = new Md5Hasher();
  const buffers = new SharedBuffers();
  // Reads go into reused buffers only where the store checks each body against its md5: a write
  // attempt that a timeout abandoned, still sending from its buffer after that went on to another
  // object, is then refused instead of storing the other object's bytes under its key.
  const reuseBuffers = to.backend.capabilities.checksWriteMd5;

  /** Copies one object (or skips it when the destination already has it), then queues its source delete. */
  const transfer = async (source: ObjectInfo): Promise<void> => {
    const key = source.key;
    let stage: MigrateFailure['stage'] = 'verify';
    try {
      const existing = await destination.lookup(key);
      let data: Buffer | undefined;
      if (existing !== null && existing.size === source.size) {
        if (options.checksum) {
          data = await from.read(key);
          if ((existing.md5 ?? md5(await to.read(key))) === (await hasher.digest(data))) data = undefined;
        } else if (existing.md5 !== undefined && source.md5 !== undefined && existing.md5 !== source.md5) {
          data = await from.read(key);
        }
        if (data === undefined) {
          state.skipped++;
          if (options.deleteSource && !options.dryRun) pendingDeletes.push(key);
          return;
        }
      }
      if (options.dryRun) {
        state.copied++;
        state.bytes += source.size;
        return;
      }
      stage = 'read';
      const buffer = data === undefined && reuseBuffers ? buffers.acquire(source.size + 1) : undefined;
      data ??= await from.read(key, { into: buffer });
      stage = 'write';
      // Where the destination knows md5s, the data's goes with the upload: the store checks the body
      // against it (Content-MD5), skips hashing it again for the request signature, and the md5 it
      // reports holding is compared with it below.
      const dataMd5 = to.backend.capabilities.md5 || reuseBuffers || options.checksum ? await hasher.digest(data) : undefined;
      const receipt = await to.write(key, data, { md5: dataMd5 });
      stage = 'verify';
      await verifyCopy(to, key, data, async () => dataMd5 ?? hasher.digest(data), receipt.md5, options.checksum);
      state.copied++;
      state.bytes += data.length;
      if (buffer !== undefined) buffers.release(buffer);
      if (options.deleteSource) pendingDeletes.push(key);
    } catch (error) {
      fail(key, stage, error);
    } finally {
      if (pendingDeletes.length >= DELETE_BATCH) await flushDeletes();
      report();
    }
  };

  const slots = new Slots(options.concurrency);
  const playlists: ObjectInfo[] = [];
  const prefixes = options.streams === undefined ? [options.layout.root] : options.streams.map((s) => options.layout.streamPrefix(s));
  const progressTimer = setInterval(() => report(true), PROGRESS_EVERY_MS);
  progressTimer.unref();
  try {
    for (const prefix of prefixes) {
      if (options.signal?.aborted) break;
      try {
        for await (const info of from.list(prefix)) {
          state.listed++;
          // Playlists go last, so a player of the destination never sees one that names a missing segment.
          if (options.layout.parse(info.key)?.kind === 'playlist') {
            playlists.push(info);
            continue;
          }
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
    await slots.drain();
    const canCopyPlaylists = !options.signal?.aborted && !failures.some((f) => f.stage !== 'delete');
    if (canCopyPlaylists) {
      for (const info of playlists) {
        await slots.acquire();
        void transfer(info).finally(() => slots.release());
      }
      await slots.drain();
    } else if (playlists.length > 0 && !options.signal?.aborted) {
      for (const info of playlists) fail(info.key, 'write', new StorageError('Interrupted', 'playlist not copied, because some segments of the run failed: re-run to finish'));
    }
    if (!options.dryRun) await flushDeletes();
  } finally {
    clearInterval(progressTimer);
    await hasher.close();
  }
  const elapsedMs = performance.now() - started;
  report(true);
  return {
    ...state,
    elapsedMs,
    planned: state.listed,
    failures,
    rate: elapsedMs > 0 ? state.bytes / (elapsedMs / 1000) : 0,
    interrupted: options.signal?.aborted === true,
    dryRun: options.dryRun,
  };
}

/**
 * The copy holds the source's bytes: its md5 as the store reported it on write (S3/OSS ETag) equals
 * the data's, or else a stat shows the right size (and md5 where the destination knows it); with
 * --checksum the copy is also read back and compared.
 */
async function verifyCopy(
  to: StoragePool,
  key: string,
  data: Buffer,
  dataMd5: () => Promise<string>,
  writtenMd5: string | undefined,
  readBack: boolean,
): Promise<void> {
  if (writtenMd5 !== undefined) {
    const expected = await dataMd5();
    if (writtenMd5 !== expected) throw new StorageError('Corrupt', `the store reports md5 ${writtenMd5} for the copy, the source's is ${expected}`, { key });
  } else {
    const copy = await to.stat(key);
    if (copy.size !== data.length) throw new StorageError('Corrupt', `the copy has ${copy.size} bytes, the source ${data.length}`, { key });
    const expected = copy.md5 === undefined ? undefined : await dataMd5();
    if (copy.md5 !== undefined && copy.md5 !== expected) throw new StorageError('Corrupt', `the copy's md5 ${copy.md5} differs from the source's ${expected}`, { key });
  }
  if (readBack && md5(await to.read(key)) !== (await dataMd5())) throw new StorageError('Corrupt', 'the copy read back differs from the source', { key });
}

/** A counting semaphore: at most `size` holders; acquire waits for a free slot. */
class Slots {
  private free: number;
  private readonly waiting: (() => void)[] = [];
  private idle: (() => void) | undefined;
  private readonly size: number;

  constructor(size: number) {
    this.size = size;
    this.free = size;
  }

  async acquire(): Promise<void> {
    if (this.free > 0) {
      this.free--;
      return;
    }
    await new Promise<void>((resolve) => this.waiting.push(resolve));
  }

  release(): void {
    const next = this.waiting.shift();
    if (next !== undefined) return next();
    this.free++;
    if (this.free === this.size) this.idle?.();
  }

  /** Resolves once every slot is free again. */
  async drain(): Promise<void> {
    if (this.free === this.size) return;
    await new Promise<void>((resolve) => (this.idle = resolve));
    this.idle = undefined;
  }
}
