// The real keys of a stream's segments and playlist, for commands that name them by stream and id
// (get, rm). Most layouts format the key from the id; under a free stem (`{name}`, ffmpeg) the
// stem is whatever the producer chose, so the stream's folder is listed and its keys parsed.

import { StorageError } from '../errors.js';
import type { SegmentStorage } from './segment-storage.js';

export interface LookupOptions {
  pool?: string | undefined;
}

/**
 * The key of each of `ids` in `stream` that a pool holds (ids no pool holds are missing from the
 * map). Without a free stem the keys are the layout's names, unchecked (a read or delete finds out).
 * Two keys of one id (two stems in one folder) are refused: InvalidArgument naming both.
 */
export async function segmentKeys(storage: SegmentStorage, stream: string, ids: readonly number[], options: LookupOptions = {}): Promise<Map<number, string>> {
  const { layout } = storage;
  layout.assertStream(stream);
  if (!layout.hasStem) return new Map(ids.map((id) => [id, layout.segmentKey(stream, id)]));
  const wanted = new Set(ids);
  const keys = new Map<number, string>();
  for (const segment of (await storage.listSegments(stream, { pool: options.pool })).items) {
    if (!wanted.has(segment.id)) continue;
    const first = keys.get(segment.id);
    if (first !== undefined) {
      throw new StorageError('InvalidArgument', `segment ${segment.id} of ${stream} has two names, ${first} and ${segment.key}: two outputs with other stems share the folder; move one to a stream folder of its own`);
    }
    keys.set(segment.id, segment.key);
  }
  return keys;
}

/** The key of one segment, or NotFound naming it when no pool holds it (a listing says so under a free stem). */
export async function segmentKey(storage: SegmentStorage, stream: string, id: number, options: LookupOptions = {}): Promise<string> {
  const key = (await segmentKeys(storage, stream, [id], options)).get(id);
  if (key === undefined) throw new StorageError('NotFound', `segment ${id} of ${stream}: no pool${options.pool === undefined ? '' : ` (of ${options.pool})`} holds it`);
  return key;
}

/** The key of the stream's playlist: the layout's name, or under a free stem the one playlist the stream's folder holds. */
export async function playlistKey(storage: SegmentStorage, stream: string, options: LookupOptions = {}): Promise<string> {
  const { layout } = storage;
  if (!layout.hasStem) return layout.playlistKey(stream);
  const listing = storage.streams({ streams: [stream], pool: options.pool });
  for await (const contents of listing) {
    const [first, second] = contents.playlists;
    if (second !== undefined) throw new StorageError('InvalidArgument', `stream ${stream} has ${contents.playlists.length} playlists (${contents.playlists.map((p) => p.key).join(', ')}): two outputs with other stems share the folder; move one to a stream folder of its own`);
    if (first !== undefined) return first.key;
  }
  return layout.playlistKey(stream);
}
