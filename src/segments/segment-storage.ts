// SegmentStorage: what is stored. Segments of HLS streams by stream name and numeric id, on top of
// the StorageManager that decides where. Names and ids are validated before any I/O.

import { StorageError, toStorageError } from '../errors.js';
import type { PoolFailure, StorageManager, WriteOutcome } from '../pool/manager.js';
import type { UngroupedObjects } from '../pool/listing.js';
import { DEFAULT_LAYOUT, SegmentLayout, type LayoutOptions, type ParsedKey } from './layout.js';
import { compareNames } from '../keys.js';

export interface SegmentInfo {
  id: number;
  key: string;
  size: number;
  modified: Date;
  /** Pools that hold it, in priority order. */
  pools: string[];
}

export interface StreamSummary {
  stream: string;
  segments: number;
  bytes: number;
  firstId: number | null;
  lastId: number | null;
  /** Pools holding any of its segments, in priority order. */
  pools: string[];
  hasPlaylist: boolean;
  /** Its objects other than segments and playlists: init, master, temporary and other files. */
  files: number;
  /** How many of those match no template ("other" files): never hidden, never deleted by retention. */
  others: number;
}

export interface Listing<T> {
  items: T[];
  /** Pools whose listing failed (only with `partial: true`; otherwise the call throws): the items are then incomplete. */
  failures: PoolFailure[];
}

/** One object of a stream (segment, playlist, init file or any other file of it) and the pools holding it. */
export interface StreamObject {
  key: string;
  kind: ParsedKey['kind'];
  /** The segment id, for segments. */
  id: number | null;
  size: number;
  pools: string[];
}

export interface StreamDeletion {
  stream: string;
  /** What was found (with dryRun: what would be deleted), playlists first. */
  objects: StreamObject[];
  /** Objects gone from every pool that held them. */
  deleted: StreamObject[];
  /** Deletes that failed, one entry per object and pool. */
  failed: { key: string; id: number | null; pool: string; error: StorageError }[];
  /** Pools whose listing failed: the stream may still have objects there. */
  failures: PoolFailure[];
}

/** An input of saveMany: a segment by id, or the stream's playlist; the bytes, or a function that reads them when the item's turn comes. */
export type SaveItem = (
  | { kind: 'segment'; id: number; data: Uint8Array | (() => Promise<Uint8Array>) }
  | { kind: 'playlist' | 'init'; data: Uint8Array | (() => Promise<Uint8Array>) }
) & {
  /** The free stem (`{name}`) of layouts that have one (ffmpeg): the file's own, so a playlist beside it names it; the layout's default otherwise. */
  stem?: string | undefined;
};

export interface SaveManyOptions {
  /** Write to this pool only, with no failover. */
  pool?: string | undefined;
  /** Items stored at once (SAVE_MANY_CONCURRENCY by default). */
  concurrency?: number | undefined;
  /** Called as each item is done, stored or not (for progress and warnings). */
  onSaved?: ((result: SaveResult) => void) | undefined;
}

/** What saveMany did with one item: stored (with the write's outcome), or not (with why). */
export type SaveResult<T extends SaveItem = SaveItem> =
  | ({ item: T; key: string; size: number; error: null } & WriteOutcome)
  | { item: T; key: string; size: number | null; error: StorageError };

/** Items saveMany stores at once unless told otherwise. */
export const SAVE_MANY_CONCURRENCY = 8;

/** Playlists go first: a player told of a segment that is being deleted gets a 404. */
const DELETE_FIRST: ReadonlySet<ParsedKey['kind']> = new Set(['master', 'playlist']);

export interface ListOptions {
  /** Only this pool. */
  pool?: string | undefined;
  /** Return what the pools that answered hold, with `failures`, instead of throwing when one failed. */
  partial?: boolean | undefined;
  signal?: AbortSignal | undefined;
}

export interface StreamsOptions extends ListOptions {
  /** Only these streams, each from a listing of its own folder; one is yielded for each, held by a pool or not. */
  streams?: readonly string[] | undefined;
}

/** A stream's object that is neither a segment nor its media playlist: an init file (fMP4), a master playlist, a producer's temporary file, or any other file of it. */
export interface StreamFile {
  key: string;
  kind: 'init' | 'master' | 'temp' | 'other';
  size: number;
  /** The latest modified time any pool holding it reports. */
  modified: Date;
  /** Pools that hold it, in priority order. */
  pools: string[];
}

/** One stream of SegmentStorage.streams(). */
export interface StreamContents {
  stream: string;
  /** Its segments in id order, each with the pools holding it in priority order. */
  segments: (SegmentInfo & { newestModified: Date })[];
  /** Its playlists (one, in most layouts), each with the pools holding it. */
  playlists: { key: string; pools: string[] }[];
  /** Its other objects (init files, master playlists, temporary files, other files), by key. */
  files: StreamFile[];
  /** How many of `files` are of kind 'other': files under the stream that match no template. */
  others: number;
  /** Pools that could not list it (partial listings only): what they hold of it is missing. */
  failures: PoolFailure[];
}

export interface StreamListing extends AsyncIterable<StreamContents> {
  /** Every pool whose listing failed, so far; after the loop, all of them. */
  readonly failures: PoolFailure[];
  /**
   * Per pool, the objects under the layout's root that belong to no stream (a file beside the
   * streams' folders, a flat layout's stray file); after the loop, all of them. Empty when the
   * listing named its streams.
   */
  readonly unowned: UngroupedObjects[];
}

/** A stream's counts from its contents; `order` is the pools' priority order. */
export function summarizeStream({ stream, segments, playlists, files, others }: StreamContents, order: readonly string[]): StreamSummary {
  const pools = new Set<string>();
  let bytes = 0;
  for (const segment of segments) {
    bytes += segment.size;
    for (const pool of segment.pools) pools.add(pool);
  }
  return {
    stream,
    segments: segments.length,
    bytes,
    firstId: segments[0]?.id ?? null,
    lastId: segments[segments.length - 1]?.id ?? null,
    pools: order.filter((name) => pools.has(name)),
    hasPlaylist: playlists.length > 0,
    files: files.length,
    others,
  };
}

export class SegmentStorage {
  readonly layout: SegmentLayout;
  readonly manager: StorageManager;

  constructor(manager: StorageManager, layout: LayoutOptions | SegmentLayout = DEFAULT_LAYOUT) {
    this.manager = manager;
    this.layout = layout instanceof SegmentLayout ? layout : new SegmentLayout(layout);
  }

  /** Stores a segment in the best pool (or `options.pool`); says which pool took it. */
  async save(stream: string, id: number, data: Uint8Array, options: { pool?: string } = {}) {
    const key = this.layout.segmentKey(stream, id);
    const outcome = await this.manager.write(key, data, options);
    return { key, id, size: data.byteLength, ...outcome };
  }

  /**
   * Stores many segments of a stream, and its playlist, `concurrency` at a time; playlists only
   * once every segment is done, so that a playlist never names a segment that is not stored yet.
   * Every id is checked, and two items of one key refused (InvalidArgument), before anything is
   * written. A failed item does not stop the others: its result carries the error. Results keep
   * the order of `items`. Data given as a function is read only when the item's turn comes, so
   * at most `concurrency` inputs are held at once.
   */
  async saveMany<T extends SaveItem>(stream: string, items: readonly T[], options: SaveManyOptions = {}): Promise<SaveResult<T>[]> {
    const keys = items.map((item) => this.saveKey(stream, item));
    const seen = new Map<string, number>();
    keys.forEach((key, index) => {
      const first = seen.get(key);
      if (first !== undefined) {
        const item = items[index]!;
        const what = item.kind === 'segment' ? `segment ${item.id}` : item.kind === 'init' ? 'the init file' : 'the playlist';
        throw new StorageError('InvalidArgument', `inputs ${first + 1} and ${index + 1} are both ${what} of ${stream}: give each segment once`, { key });
      }
      seen.set(key, index);
    });
    const { default: pLimit } = await import('p-limit');
    const limit = pLimit(options.concurrency ?? SAVE_MANY_CONCURRENCY);
    const results: SaveResult<T>[] = new Array(items.length);
    const store = (index: number) =>
      limit(async () => {
        const item = items[index]!;
        const key = keys[index]!;
        let size: number | null = null;
        try {
          const data = typeof item.data === 'function' ? await item.data() : item.data;
          size = data.byteLength;
          const outcome = await this.manager.write(key, data, options.pool === undefined ? {} : { pool: options.pool });
          results[index] = { item, key, size, error: null, ...outcome };
        } catch (error) {
          results[index] = { item, key, size, error: toStorageError(error, { key }) };
        }
        options.onSaved?.(results[index]);
      });
    // The init file before the segments that need it, playlists last.
    for (const kind of ['init', 'segment', 'playlist'] as const) {
      await Promise.all(items.flatMap((item, index) => (item.kind === kind ? [store(index)] : [])));
    }
    return results;
  }

  /** Where saveMany stores an item: the layout's name for it, with the item's stem. */
  private saveKey(stream: string, item: SaveItem): string {
    if (item.kind === 'segment') return this.layout.segmentKey(stream, item.id, item.stem);
    if (item.kind === 'playlist') return this.layout.playlistKey(stream, item.stem);
    const key = this.layout.initKey(stream, item.stem);
    if (key === undefined) throw new StorageError('InvalidArgument', `this layout has no init file (its templates name none): an init file of ${stream} cannot be stored`);
    return key;
  }

  /** The segment's bytes from whichever pool holds it. NotFound when none does. */
  async load(stream: string, id: number, options: { pool?: string } = {}): Promise<{ data: Buffer; pool: string; key: string }> {
    const key = this.layout.segmentKey(stream, id);
    return { key, ...(await this.manager.read(key, options)) };
  }

  /** Removes the segment from every pool holding it. NotFound when none did. */
  async delete(stream: string, id: number, options: { pool?: string } = {}): Promise<{ key: string; deletedFrom: string[] }> {
    const key = this.layout.segmentKey(stream, id);
    return { key, ...(await this.manager.delete(key, options)) };
  }

  async savePlaylist(stream: string, text: string, options: { pool?: string } = {}) {
    const key = this.layout.playlistKey(stream);
    return { key, ...(await this.manager.write(key, Buffer.from(text, 'utf8'), options)) };
  }

  async loadPlaylist(stream: string, options: { pool?: string } = {}): Promise<{ text: string; pool: string }> {
    const { data, pool } = await this.manager.read(this.layout.playlistKey(stream), options);
    return { text: data.toString('utf8'), pool };
  }

  /**
   * Every stream (or `options.streams`), one at a time in the order of their folders' keys, each
   * with its segments and the pools holding them: a store of millions of segments is streamed, one
   * stream held at a time, from one listing per pool (a listing per named stream). Iterating throws
   * when a pool's listing failed, before the first stream it could not list completely; with
   * `partial: true` such streams are yielded with their `failures`, and `failures` after the loop
   * names every pool that failed (it may have held streams no other pool names).
   */
  streams(options: StreamsOptions = {}): StreamListing {
    const { layout } = this;
    const sample = layout.hasVariant ? 'a/v' : 'a';
    // Master playlists above their variants' folders form groups of their own that interleave with them.
    const contiguous =
      layout.folderPerStream &&
      [layout.segmentKey(sample, 0), layout.playlistKey(sample), layout.initKey(sample) ?? '', layout.masterKey(sample) ?? ''].every((key) => key === '' || key.startsWith(layout.streamPrefix(sample)));
    const listing = this.manager.listFolders(layout.root, {
      pool: options.pool,
      partial: options.partial,
      signal: options.signal,
      folders: options.streams?.map((stream) => layout.assertStream(stream)),
      grouping: { groupOf: (key) => layout.parse(key)?.stream, folderOf: (stream) => layout.groupPrefix(stream), contiguous },
    });
    return {
      get failures() {
        return listing.failures;
      },
      get unowned() {
        return listing.ungrouped;
      },
      async *[Symbol.asyncIterator]() {
        for await (const { folder: stream, objects, failures } of listing) {
          const contents: StreamContents = { stream, segments: [], playlists: [], files: [], others: 0, failures };
          for (const [key, { info, pools, newestModified }] of objects) {
            const parsed = layout.parse(key);
            if (parsed?.kind === 'segment') contents.segments.push({ id: parsed.id, key, size: info.size, modified: info.modified, pools, newestModified });
            else if (parsed?.kind === 'playlist') contents.playlists.push({ key, pools });
            else {
              const kind = parsed?.kind ?? 'other';
              contents.files.push({ key, kind, size: info.size, modified: newestModified, pools });
              if (kind === 'other') contents.others++;
            }
          }
          contents.segments.sort((a, b) => a.id - b.id);
          if (contents.files.length > 1) contents.files.sort((a, b) => compareNames(a.key, b.key));
          yield contents;
        }
      },
    };
  }

  /**
   * A stream's segments, ids in numeric order (2 before 10), with the pools holding each. Throws
   * when a pool's listing failed, unless `partial: true`: then `failures` says which pools the
   * items miss. `found` is false when no pool holds anything of the stream.
   */
  async listSegments(stream: string, options: ListOptions = {}): Promise<Listing<SegmentInfo> & { found: boolean }> {
    const listing = this.streams({ ...options, streams: [stream] });
    for await (const contents of listing) {
      const found = contents.segments.length > 0 || contents.playlists.length > 0 || contents.files.length > 0;
      return { items: contents.segments.map(({ newestModified: _newest, ...segment }) => segment), failures: contents.failures, found };
    }
    return { items: [], failures: listing.failures, found: false };
  }

  /**
   * Every stream with its segment count, bytes, first and last id and pools, by name, streamed from
   * the listing (one stream held at a time). Throws when a pool's listing failed, unless `partial: true`.
   */
  async listStreams(options: ListOptions = {}): Promise<Listing<StreamSummary>> {
    const order = this.manager.pools.map((p) => p.name);
    const items: StreamSummary[] = [];
    const listing = this.streams(options);
    for await (const contents of listing) items.push(summarizeStream(contents, order));
    return { items: items.sort((a, b) => compareNames(a.stream, b.stream)), failures: listing.failures };
  }

  /** Removes the stream's playlist from every pool holding it (or `options.pool`). NotFound when none did. */
  async deletePlaylist(stream: string, options: { pool?: string } = {}): Promise<{ key: string; deletedFrom: string[] }> {
    const key = this.layout.playlistKey(stream);
    return { key, ...(await this.manager.delete(key, options)) };
  }

  /** Every object of the stream in every pool (or `options.pool`): segments, playlists, init and other files. */
  async listStreamObjects(stream: string, options: { pool?: string } = {}): Promise<Listing<StreamObject>> {
    const { objects, failures } = await this.manager.list(this.layout.streamPrefix(stream), options);
    const items: StreamObject[] = [];
    for (const [key, { info, pools }] of objects) {
      const parsed = this.layout.parse(key);
      if (parsed?.stream !== stream) continue;
      items.push({ key, kind: parsed.kind, id: parsed.kind === 'segment' ? parsed.id : null, size: info.size, pools });
    }
    items.sort((a, b) => Number(DELETE_FIRST.has(b.kind)) - Number(DELETE_FIRST.has(a.kind)) || (a.id ?? -1) - (b.id ?? -1) || compareNames(a.key, b.key));
    return { items, failures };
  }

  /**
   * Deletes listed objects from every pool holding each, in batches per pool (deleteMany), playlists
   * in a first round. Each object's failures are reported per pool; the others are gone.
   */
  async deleteObjects(objects: readonly StreamObject[]): Promise<{ deleted: StreamObject[]; failed: StreamDeletion['failed'] }> {
    const failedByKey = new Map<string, StreamDeletion['failed']>();
    for (const round of [objects.filter((o) => DELETE_FIRST.has(o.kind)), objects.filter((o) => !DELETE_FIRST.has(o.kind))]) {
      const keysByPool = new Map<string, StreamObject[]>();
      for (const object of round) for (const pool of object.pools) keysByPool.set(pool, [...(keysByPool.get(pool) ?? []), object]);
      await Promise.all(
        [...keysByPool].map(async ([name, listed]) => {
          const pool = this.manager.pool(name);
          const ids = new Map(listed.map((o) => [o.key, o.id]));
          let failed: { key: string; error: unknown }[];
          try {
            failed = (await pool.deleteMany(listed.map((o) => o.key))).failed;
          } catch (error) {
            failed = listed.map((o) => ({ key: o.key, error }));
          }
          for (const { key, error } of failed) {
            failedByKey.set(key, [...(failedByKey.get(key) ?? []), { key, id: ids.get(key) ?? null, pool: name, error: pool.named(error, key) }]);
          }
        }),
      );
    }
    this.manager.forget(objects.map((o) => o.key));
    // In the order of `objects`, whatever order the pools answered in.
    return { deleted: objects.filter((o) => !failedByKey.has(o.key)), failed: objects.flatMap((o) => failedByKey.get(o.key) ?? []) };
  }

  /**
   * Removes everything of retired streams from every pool (or `options.pool`): segments, playlists,
   * init files and any other file of each stream, playlists first. The plan is made for every
   * stream before anything is deleted: with `dryRun` nothing is, and when the plan holds more than
   * `maxDelete` objects the whole call is refused (QuotaExceeded) with nothing deleted. A stream
   * whose listing found nothing has no objects (and no failures when every pool answered).
   */
  async purgeStreams(streams: readonly string[], options: { pool?: string; dryRun?: boolean; maxDelete?: number } = {}): Promise<StreamDeletion[]> {
    streams.forEach((stream) => this.layout.assertStream(stream));
    const plans = await Promise.all(streams.map(async (stream) => ({ stream, ...(await this.listStreamObjects(stream, options)) })));
    const total = plans.reduce((n, p) => n + p.items.length, 0);
    if (options.maxDelete !== undefined && total > options.maxDelete) {
      throw new StorageError('QuotaExceeded', `purge would delete ${total} objects, more than the limit of ${options.maxDelete}: nothing was deleted`);
    }
    const results: StreamDeletion[] = [];
    for (const { stream, items, failures } of plans) {
      const outcome = options.dryRun === true ? { deleted: [], failed: [] } : await this.deleteObjects(items);
      results.push({ stream, objects: items, ...outcome, failures });
    }
    return results;
  }
}
