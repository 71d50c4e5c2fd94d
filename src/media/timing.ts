// A segment's container, whether its head is well formed, and its start and duration, measured from
// its own timestamps: MPEG-TS PES timestamps as ffprobe reads them, fMP4 decode times with the
// timescales of the stream's init file.

import { firstBadSync, TS_PACKET, tsTiming } from './mpegts.js';
import { fmp4HeadProblem, fmp4Timing, initTracks } from './fmp4.js';

export type Container = 'mpegts' | 'fmp4';

/** The container a segment of this file name is in: `.ts` MPEG-TS; `.m4s`, `.mp4` fMP4; else undefined. */
export function containerOf(key: string): Container | undefined {
  if (/\.ts$/i.test(key)) return 'mpegts';
  if (/\.(m4s|mp4|cmf[av])$/i.test(key)) return 'fmp4';
  return undefined;
}

/** How many bytes of a segment's head `headProblem` wants: a few TS packets, or the first boxes. */
export const HEAD_BYTES = TS_PACKET * 64;

/**
 * Why the head of a segment (its first bytes, or the whole object when `complete`) is not of its
 * container, or undefined when it is.
 */
export function headProblem(container: Container, head: Uint8Array, complete: boolean): string | undefined {
  if (head.length === 0) return 'empty';
  if (container === 'fmp4') return fmp4HeadProblem(head, complete);
  if (head.length < TS_PACKET && complete) return `${head.length} bytes, less than one 188-byte MPEG-TS packet`;
  const bad = firstBadSync(head);
  return bad === undefined ? undefined : `no MPEG-TS sync byte (0x47) at byte ${bad}`;
}

export interface SegmentTiming {
  /** Presentation (TS) or decode (fMP4) time of the segment's start, in seconds. */
  start: number;
  duration: number;
}

/** Start and duration of a whole segment; undefined when its timestamps cannot be read. */
export function segmentTiming(container: Container, data: Uint8Array, init?: Uint8Array): SegmentTiming | undefined {
  if (container === 'mpegts') {
    const timing = tsTiming(data);
    return timing === undefined ? undefined : { start: timing.start, duration: timing.duration };
  }
  if (init === undefined) return undefined;
  try {
    return fmp4Timing(data, initTracks(init));
  } catch {
    return undefined;
  }
}
