// VOD playlists (RFC 8216 §4.3.3.5 EXT-X-PLAYLIST-TYPE:VOD, EXT-X-ENDLIST) over stored segments,
// with each EXTINF measured from the segment's own timestamps and a discontinuity wherever the ids
// jump or the timestamps restart.

import pLimit from 'p-limit';
import { StorageError } from '../errors.js';
import { containerOf, segmentTiming, type SegmentTiming } from '../media/timing.js';
import type { SegmentStorage, StreamContents } from './segment-storage.js';

export interface VodSegment {
  /** The segment's id (sequence number or time). */
  id: number;
  /** The URI the playlist names it by. */
  uri: string;
  /** Measured start and duration, in seconds. */
  start: number;
  duration: number;
}

export interface VodOptions {
  /** URI of the init file (fMP4): one EXT-X-MAP before the first segment. */
  init?: string | undefined;
  /** Ids are a sequence (a jump means a discontinuity), or times (only the timestamps tell). */
  idKind: 'sequence' | 'time';
}

/** Timestamps further apart than this from where the previous segment ended mark a discontinuity. */
const TIMESTAMP_TOLERANCE_S = 0.5;

/** Where a discontinuity falls before `segments[i]` (i ≥ 1). */
export function isDiscontinuity(previous: VodSegment, next: VodSegment, idKind: VodOptions['idKind']): boolean {
  if (idKind === 'sequence' && next.id !== previous.id + 1) return true;
  return Math.abs(next.start - (previous.start + previous.duration)) > TIMESTAMP_TOLERANCE_S;
}

/** The playlist text; segments in playback order. */
export function vodPlaylist(segments: readonly VodSegment[], options: VodOptions): string {
  // RFC 8216 §4.3.3.1: every EXTINF, rounded to the nearest integer, is at most the target duration.
  const target = Math.max(1, ...segments.map((s) => Math.round(s.duration)));
  const lines = ['#EXTM3U', `#EXT-X-VERSION:${options.init === undefined ? 3 : 7}`, `#EXT-X-TARGETDURATION:${target}`, '#EXT-X-PLAYLIST-TYPE:VOD', '#EXT-X-MEDIA-SEQUENCE:0'];
  if (options.init !== undefined) lines.push('#EXT-X-INDEPENDENT-SEGMENTS', `#EXT-X-MAP:URI="${options.init}"`);
  segments.forEach((segment, index) => {
    if (index > 0 && isDiscontinuity(segments[index - 1]!, segment, options.idKind)) lines.push('#EXT-X-DISCONTINUITY');
    lines.push(`#EXTINF:${segment.duration.toFixed(6)},`, segment.uri);
  });
  lines.push('#EXT-X-ENDLIST', '');
  return lines.join('\n');
}

/** Where a VOD playlist's range starts or ends: an id, or (for time-named layouts) an ISO time or epoch seconds. */
export function parseBound(text: string, idKind: VodOptions['idKind'], name: string): number {
  if (/^[0-9]+$/.test(text)) return Number(text);
  const ms = idKind === 'time' ? Date.parse(text) : Number.NaN;
  if (Number.isNaN(ms)) {
    throw new StorageError('InvalidArgument', `${name} ${JSON.stringify(text)}: give a segment id${idKind === 'time' ? ', epoch seconds or an ISO time such as 2026-12-01T22:00:00Z' : ''}`);
  }
  return Math.floor(ms / 1000);
}

export interface BuildVodOptions {
  from?: string | undefined;
  to?: string | undefined;
  pool?: string | undefined;
  /** The URI a key is named by in the playlist. */
  uri: (key: string) => string;
  /** Measured timings by key and version, kept across calls (serve keeps one). */
  cache?: Map<string, SegmentTiming> | undefined;
  signal?: AbortSignal | undefined;
}

/** Segments measured at once. */
const MEASURE_CONCURRENCY = 8;

/**
 * The VOD playlist of a stream's stored segments in [from, to], each read whole and measured. A
 * segment whose timestamps cannot be read is a Corrupt error naming it: a VOD playlist that lies
 * about durations plays wrong. NotFound when the range holds no segment.
 */
export async function buildVod(storage: SegmentStorage, stream: string, options: BuildVodOptions): Promise<{ text: string; segments: VodSegment[] }> {
  const idKind = storage.layout.idKind;
  const from = options.from === undefined ? -Infinity : parseBound(options.from, idKind, '--from');
  const to = options.to === undefined ? Infinity : parseBound(options.to, idKind, '--to');
  // Not partial: a VOD playlist missing the segments of a pool that could not list would play wrong.
  let contents: StreamContents | undefined;
  for await (const found of storage.streams({ streams: [stream], pool: options.pool, signal: options.signal })) contents = found;
  const chosen = (contents?.segments ?? []).filter((s) => s.id >= from && s.id <= to);
  if (chosen.length === 0) throw new StorageError('NotFound', `no stored segment of ${stream} in that range`);
  // The init file the stream holds: under a free stem (mediamtx's random prefix) the layout's own name is a guess.
  const initKey = contents?.files.find((file) => file.kind === 'init')?.key ?? storage.layout.initKey(stream);
  const container = containerOf(chosen[0]!.key) ?? 'mpegts';
  const init = container === 'fmp4' && initKey !== undefined ? (await storage.manager.read(initKey, options.pool === undefined ? {} : { pool: options.pool })).data : undefined;
  const limit = pLimit(MEASURE_CONCURRENCY);
  const segments = await Promise.all(
    chosen.map((segment) =>
      limit(async () => {
        const version = `${segment.key}\u0000${segment.size}\u0000${segment.modified.getTime()}`;
        let timing = options.cache?.get(version);
        if (timing === undefined) {
          const { data } = await storage.manager.read(segment.key, options.pool === undefined ? {} : { pool: options.pool });
          timing = segmentTiming(containerOf(segment.key) ?? container, data, init);
          if (timing === undefined) throw new StorageError('Corrupt', 'its timestamps cannot be read: not a playable segment', { key: segment.key });
          options.cache?.set(version, timing);
        }
        return { id: segment.id, uri: options.uri(segment.key), ...timing };
      }),
    ),
  );
  const text = vodPlaylist(segments, { idKind, init: init === undefined ? undefined : options.uri(initKey!) });
  return { text, segments };
}
