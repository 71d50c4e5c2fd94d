// What a stream's HLS media playlist (RFC 8216) keeps cleanup from deleting: every segment it names
// (URI lines and the URI="..." attributes of tags such as EXT-X-MAP, EXT-X-PART, EXT-X-PRELOAD-HINT
// and EXT-X-RENDITION-REPORT, read by m3u8.ts), one more than it has entries before its first entry
// (§6.2.2: a segment removed from the playlist stays available for its duration plus the playlist's
// duration; with N entries, the segment N+1 before the first was removed at least N+1 segment
// durations ago, the one N before only N), and every segment after its last entry: the live edge
// the muxer has written and is about to publish.

import type { SegmentLayout } from './layout.js';
import { parseM3u8, uriToKey } from './m3u8.js';

export interface PlaylistReferences {
  /** Ids of the stream's segments the playlist names anywhere, ascending, each once. */
  ids: number[];
  /** Media segment entries (URI lines naming a segment): this many listed ids before the first, and one more, are kept. */
  entries: number;
}

/**
 * The ids of `stream`'s segments that its playlist (stored under `playlistKey`) names. A URI counts
 * when it resolves to one of the stream's segment keys, and also when only its file name does (an
 * absolute URL of a CDN, a path the store's keys do not start with): protecting too much is safe,
 * too little is not.
 */
export function playlistReferences(text: string, layout: SegmentLayout, stream: string, playlistKey: string): PlaylistReferences {
  const folder = layout.streamPrefix(stream);
  const found: number[] = [];
  let entries = 0;
  for (const { uri, tag } of parseM3u8(text).uris) {
    const id = segmentIdOf(uri, layout, stream, folder, playlistKey);
    if (id === undefined) continue;
    found.push(id);
    if (tag === undefined) entries++;
  }
  const sorted = Float64Array.from(found).sort();
  const ids: number[] = [];
  for (const id of sorted) if (ids.length === 0 || ids[ids.length - 1] !== id) ids.push(id);
  return { ids, entries };
}

function segmentIdOf(uri: string, layout: SegmentLayout, stream: string, folder: string, playlistKey: string): number | undefined {
  const key = uriToKey(uri, playlistKey, layout.root);
  const parsed = key === undefined ? undefined : layout.parse(key);
  if (parsed?.kind === 'segment' && parsed.stream === stream) return parsed.id;
  const name = uri.replace(/[?#].*$/, '').split('/').pop();
  if (name === undefined || name === '') return undefined;
  const here = layout.parse(folder + name);
  return here?.kind === 'segment' && here.stream === stream ? here.id : undefined;
}

/** Index of the first element of `sorted` that is >= value (sorted.length when none is). */
function lowerBound(sorted: readonly number[], value: number): number {
  let low = 0;
  let high = sorted.length;
  while (low < high) {
    const mid = (low + high) >>> 1;
    if (sorted[mid]! < value) low = mid + 1;
    else high = mid;
  }
  return low;
}

/**
 * Whether the playlist protects an id, given the stream's listed ids (ascending): every id it names,
 * the `entries + 1` listed ids just before its first (lowest) one, which players may still be fetching,
 * and every id after its last (highest) one, the live edge. A playlist naming no segment protects
 * nothing. Binary searches, no set of ids: a playlist of a million entries costs its ids only.
 */
export function protectedByPlaylist(playlist: PlaylistReferences, listedIds: readonly number[]): (id: number) => boolean {
  const { ids } = playlist;
  if (ids.length === 0) return () => false;
  const first = ids[0]!;
  const last = ids[ids.length - 1]!;
  const firstIndex = lowerBound(listedIds, first);
  const graceFrom = firstIndex === 0 ? first : listedIds[Math.max(0, firstIndex - playlist.entries - 1)]!;
  return (id) => id > last || (id >= graceFrom && id < first) || ids[lowerBound(ids, id)] === id;
}
