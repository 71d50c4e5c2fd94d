// HLS playlists (RFC 8216) read in one pass over their lines, for what the tool must know of them:
// every URI they name (URI lines and URI="..." attributes of EXT-X-MAP, EXT-X-PART,
// EXT-X-PRELOAD-HINT, EXT-X-RENDITION-REPORT, EXT-X-MEDIA, ...), each entry's EXTINF, the target
// duration, and whether it is a master playlist of variants. A million entries are fine: nothing
// recursive, no spread of large arrays.

export interface PlaylistUri {
  uri: string;
  /** The tag that names it (`EXT-X-MAP`, ...), or undefined for a URI line (a segment or variant). */
  tag?: string | undefined;
  /** For a URI line of a media playlist: its EXTINF duration, where one preceded it. */
  duration?: number | undefined;
  /** 1-based line number, for messages. */
  line: number;
}

export interface ParsedPlaylist {
  /** The first line is #EXTM3U. */
  valid: boolean;
  /** EXT-X-STREAM-INF present: its URI lines are variant playlists, not segments. */
  master: boolean;
  targetDuration: number | undefined;
  /** EXT-X-ENDLIST present: the playlist is complete (VOD, or a finished EVENT). */
  ended: boolean;
  uris: PlaylistUri[];
}

const URI_ATTRIBUTE = /(?:^|,)URI="([^"]*)"/;

export function parseM3u8(text: string): ParsedPlaylist {
  const result: ParsedPlaylist = { valid: false, master: false, targetDuration: undefined, ended: false, uris: [] };
  let duration: number | undefined;
  let lineNumber = 0;
  let start = 0;
  // Line by line without split(): a playlist of a million entries is not copied into an array.
  while (start <= text.length) {
    let end = text.indexOf('\n', start);
    if (end === -1) end = text.length;
    const line = text.slice(start, end).trim();
    start = end + 1;
    lineNumber++;
    if (lineNumber === 1) {
      result.valid = line.replace(/^\uFEFF/, '') === '#EXTM3U';
      continue;
    }
    if (line === '') continue;
    if (!line.startsWith('#')) {
      result.uris.push({ uri: line, line: lineNumber, ...(duration === undefined ? {} : { duration }) });
      duration = undefined;
      continue;
    }
    if (!line.startsWith('#EXT')) continue;
    const colon = line.indexOf(':');
    const tag = line.slice(1, colon === -1 ? undefined : colon);
    const value = colon === -1 ? '' : line.slice(colon + 1);
    switch (tag) {
      case 'EXTINF':
        duration = Number.parseFloat(value);
        if (Number.isNaN(duration)) duration = undefined;
        break;
      case 'EXT-X-TARGETDURATION':
        result.targetDuration = Number(value);
        break;
      case 'EXT-X-ENDLIST':
        result.ended = true;
        break;
      case 'EXT-X-STREAM-INF':
        result.master = true;
        break;
      default: {
        const uri = URI_ATTRIBUTE.exec(value)?.[1];
        if (uri !== undefined && uri !== '') result.uris.push({ uri, tag, line: lineNumber });
      }
    }
  }
  return result;
}

/**
 * The store key a playlist's URI names, resolved against the playlist's own key (its folder), or
 * undefined when it names something outside the store's keys: another host, a data: URI, a path
 * above the store's top. Query and fragment are dropped. An absolute URL names its path, which is
 * then taken as a key when it lies under `root` (the layout's prefix folder; '' for the whole store).
 */
export function uriToKey(uri: string, playlistKey: string, root: string): string | undefined {
  let path = uri.replace(/[?#].*$/, '');
  if (/^[a-z][a-z0-9+.-]*:/i.test(path)) {
    if (!/^https?:\/\//i.test(path)) return undefined;
    try {
      path = new URL(path).pathname;
    } catch {
      return undefined;
    }
  }
  try {
    path = decodeURIComponent(path);
  } catch {
    return undefined;
  }
  let parts: string[];
  if (path.startsWith('/')) {
    // A path from the top of an origin: the store's keys start at `root` somewhere along it.
    const key = path.slice(1);
    if (root === '') parts = key.split('/');
    else {
      const at = `/${key}`.indexOf(`/${root}`);
      if (at === -1) return undefined;
      parts = key.slice(at).split('/');
    }
  } else {
    parts = [...playlistKey.split('/').slice(0, -1), ...path.split('/')];
  }
  const resolved: string[] = [];
  for (const part of parts) {
    if (part === '' || part === '.') continue;
    if (part === '..') {
      if (resolved.length === 0) return undefined;
      resolved.pop();
    } else resolved.push(part);
  }
  return resolved.length === 0 ? undefined : resolved.join('/');
}
