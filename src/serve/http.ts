// HTTP details of the origin: content types of HLS files, cache rules for live playlists and
// segments, byte ranges (RFC 9110 §14), and entity tags.

/** Content types of the files a layout names. */
export function contentTypeOf(key: string): string {
  const ext = key.slice(key.lastIndexOf('.') + 1).toLowerCase();
  switch (ext) {
    case 'm3u8':
      return 'application/vnd.apple.mpegurl';
    case 'ts':
      return 'video/mp2t';
    case 'm4s':
      return 'video/iso.segment';
    case 'mp4':
      return 'video/mp4';
    case 'aac':
      return 'audio/aac';
    default:
      return 'application/octet-stream';
  }
}

/** Playlists change with every segment; segments never change once written. */
export function cacheControlOf(kind: string): string {
  return kind === 'playlist' || kind === 'master' ? 'no-cache' : 'public, max-age=31536000, immutable';
}

export type ByteRange = { start: number; end: number } | 'unsatisfiable' | undefined;

/**
 * The single byte range a `Range` header asks for within `size` bytes (end inclusive); undefined
 * for no header, or one this server answers whole (several ranges, another unit, bad syntax).
 */
export function parseRange(header: string | undefined, size: number): ByteRange {
  if (header === undefined) return undefined;
  const match = /^bytes=(\d*)-(\d*)$/.exec(header.trim());
  if (match === null || (match[1] === '' && match[2] === '')) return undefined;
  if (match[1] === '') {
    const suffix = Number(match[2]);
    if (suffix === 0) return 'unsatisfiable';
    return { start: Math.max(0, size - suffix), end: size - 1 };
  }
  const start = Number(match[1]);
  const end = match[2] === '' ? size - 1 : Math.min(Number(match[2]), size - 1);
  if (start >= size || start > end) return 'unsatisfiable';
  return { start, end };
}

/** A strong entity tag: the md5 where the store knows it, else size and modified time. */
export function etagOf(info: { size: number; modified: Date; md5?: string | undefined }): string {
  return info.md5 !== undefined ? `"${info.md5}"` : `"${info.size.toString(16)}-${info.modified.getTime().toString(16)}"`;
}
