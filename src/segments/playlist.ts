// Reading an HLS media playlist (RFC 8216) for what cleanup must not delete: the segments it names,
// and as many before its first entry (§6.2.2: a segment removed from the playlist stays available
// for its duration plus the playlist's duration).

export interface PlaylistReferences {
  /** Segment ids the playlist names, in playlist order. */
  ids: number[];
}

const SEGMENT_URI = /(?:^|\/)segment_(0|[1-9][0-9]*)\.ts(?:[?#].*)?$/;

/** The segment ids named by a media playlist's URI lines (any other URI is ignored). */
export function parsePlaylist(text: string): PlaylistReferences {
  const ids: number[] = [];
  for (const raw of text.split(/\r?\n/)) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) continue;
    const match = SEGMENT_URI.exec(line);
    if (match?.[1] !== undefined) {
      const id = Number(match[1]);
      if (Number.isSafeInteger(id)) ids.push(id);
    }
  }
  return { ids };
}

/**
 * The ids a playlist protects among `listedIds` (sorted ascending): every id it names, and the
 * as-many listed ids just before its first (lowest) entry, which players may still be fetching.
 */
export function protectedByPlaylist(playlist: PlaylistReferences, listedIds: readonly number[]): Set<number> {
  const protectedIds = new Set(playlist.ids);
  if (playlist.ids.length === 0) return protectedIds;
  const first = Math.min(...playlist.ids);
  const before = listedIds.filter((id) => id < first);
  for (const id of before.slice(Math.max(0, before.length - playlist.ids.length))) protectedIds.add(id);
  return protectedIds;
}
