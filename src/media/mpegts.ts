// MPEG-TS, read as far as segment checks need: the sync byte of every 188-byte packet, and the
// presentation timestamps of each elementary stream, from which a segment's duration is measured
// the way ffprobe measures it (latest end over the streams minus earliest start).

export const TS_PACKET = 188;
const SYNC = 0x47;
/** PTS ticks per second. */
const PTS_HZ = 90_000;
const PTS_WRAP = 2 ** 33;

/** Where the packet structure breaks: the byte offset of the first packet without its sync byte. */
export function firstBadSync(data: Uint8Array): number | undefined {
  for (let offset = 0; offset + TS_PACKET <= data.length; offset += TS_PACKET) {
    if (data[offset] !== SYNC) return offset;
  }
  // A trailing partial packet still has to start with a sync byte.
  const tail = data.length - (data.length % TS_PACKET);
  if (tail < data.length && data[tail] !== SYNC) return tail;
  return undefined;
}

export interface TsTiming {
  /** Earliest presentation time over the streams, in seconds (as ffprobe's start_time). */
  start: number;
  /** Latest end minus earliest start, in seconds (as ffprobe's format duration). */
  duration: number;
  /** Per elementary stream (by PID): first and last PTS in seconds, and the end of its last frame. */
  streams: { pid: number; kind: 'video' | 'audio' | 'other'; first: number; end: number }[];
}

interface StreamState {
  pid: number;
  kind: 'video' | 'audio' | 'other';
  pts: number[];
  /** Payload of the PES being assembled (audio only: its AAC frames are counted at the end). */
  current: Uint8Array[];
  lastPesPayload: Uint8Array | undefined;
}

/**
 * Timestamps of a whole segment; undefined when it holds no timestamped stream. Times keep PTS
 * wrap-around in mind: a segment that crosses it reads as continuous.
 */
export function tsTiming(data: Uint8Array): TsTiming | undefined {
  const streams = new Map<number, StreamState>();
  const pmtPids = new Set<number>();
  const kinds = new Map<number, StreamState['kind']>();
  for (let offset = 0; offset + TS_PACKET <= data.length; offset += TS_PACKET) {
    if (data[offset] !== SYNC) break;
    const pid = ((data[offset + 1]! & 0x1f) << 8) | data[offset + 2]!;
    const unitStart = (data[offset + 1]! & 0x40) !== 0;
    const control = (data[offset + 3]! >> 4) & 0x3;
    if (control === 0 || control === 2) continue;
    let start = offset + 4;
    if (control === 3) start += 1 + data[offset + 4]!;
    const end = offset + TS_PACKET;
    if (start >= end) continue;
    const payload = data.subarray(start, end);
    if (pid === 0 && unitStart) {
      for (const pmt of programMapPids(payload)) pmtPids.add(pmt);
      continue;
    }
    if (pmtPids.has(pid) && unitStart) {
      for (const [esPid, kind] of elementaryStreams(payload)) kinds.set(esPid, kind);
      continue;
    }
    if (!kinds.has(pid)) continue;
    let state = streams.get(pid);
    if (state === undefined) {
      state = { pid, kind: kinds.get(pid)!, pts: [], current: [], lastPesPayload: undefined };
      streams.set(pid, state);
    }
    if (unitStart) {
      finishPes(state);
      const pts = pesPts(payload);
      if (pts === undefined) continue;
      state.pts.push(pts);
      const headerEnd = 9 + payload[8]!;
      state.current = [payload.subarray(headerEnd)];
    } else if (state.current.length > 0) {
      state.current.push(payload);
    }
  }
  const timed = [...streams.values()].filter((s) => s.pts.length > 0);
  if (timed.length === 0) return undefined;
  for (const state of timed) finishPes(state);
  // Unwrap against the first timestamp seen, so a segment crossing 2^33 stays continuous.
  const reference = timed[0]!.pts[0]!;
  const unwrap = (pts: number): number => {
    let t = pts;
    while (t - reference > PTS_WRAP / 2) t -= PTS_WRAP;
    while (reference - t > PTS_WRAP / 2) t += PTS_WRAP;
    return t;
  };
  const result = timed.map((state) => {
    const sorted = state.pts.map(unwrap).sort((a, b) => a - b);
    const last = sorted[sorted.length - 1]!;
    return { pid: state.pid, kind: state.kind, first: sorted[0]! / PTS_HZ, end: (last + lastFrameTicks(state, sorted)) / PTS_HZ };
  });
  const start = Math.min(...result.map((s) => s.first));
  return { start, duration: Math.max(...result.map((s) => s.end)) - start, streams: result };
}

function finishPes(state: StreamState): void {
  if (state.current.length === 0) return;
  if (state.kind === 'audio') state.lastPesPayload = Buffer.concat(state.current);
  state.current = [];
}

/** How long the stream's last frame lasts, in PTS ticks. */
function lastFrameTicks(state: StreamState, sorted: number[]): number {
  if (state.kind === 'audio' && state.lastPesPayload !== undefined) {
    // As ffprobe counts it: the last PES's timestamp plus one AAC frame (1,024 samples), however
    // many frames that PES carries.
    const sampleRate = adtsSampleRate(state.lastPesPayload);
    if (sampleRate !== undefined) return Math.floor((1024 * PTS_HZ) / sampleRate);
  }
  // Video (and anything else): the usual distance between frames.
  const deltas = new Map<number, number>();
  for (let i = 1; i < sorted.length; i++) {
    const delta = sorted[i]! - sorted[i - 1]!;
    if (delta > 0) deltas.set(delta, (deltas.get(delta) ?? 0) + 1);
  }
  let best = 0;
  let count = 0;
  for (const [delta, n] of deltas) if (n > count || (n === count && delta < best)) [best, count] = [delta, n];
  return best;
}

const ADTS_RATES = [96000, 88200, 64000, 48000, 44100, 32000, 24000, 22050, 16000, 12000, 11025, 8000, 7350];

/** The sample rate of the ADTS (AAC) frame a PES payload starts with; undefined when it starts with none. */
function adtsSampleRate(payload: Uint8Array): number | undefined {
  if (payload.length < 7 || payload[0] !== 0xff || (payload[1]! & 0xf0) !== 0xf0) return undefined;
  return ADTS_RATES[(payload[2]! >> 2) & 0x0f];
}

function pesPts(payload: Uint8Array): number | undefined {
  if (payload.length < 14 || payload[0] !== 0 || payload[1] !== 0 || payload[2] !== 1) return undefined;
  if ((payload[7]! & 0x80) === 0) return undefined;
  const p = payload;
  return (((p[9]! >> 1) & 0x07) * 2 ** 30) + ((p[10]! << 22) | ((p[11]! >> 1) << 15) | (p[12]! << 7) | (p[13]! >> 1));
}

/** The PMT PIDs a PAT section names. */
function programMapPids(payload: Uint8Array): number[] {
  const section = payload.subarray(1 + payload[0]!);
  const length = ((section[1]! & 0x0f) << 8) | section[2]!;
  const pids: number[] = [];
  for (let i = 8; i + 4 <= Math.min(section.length, 3 + length - 4); i += 4) {
    const program = (section[i]! << 8) | section[i + 1]!;
    if (program !== 0) pids.push(((section[i + 2]! & 0x1f) << 8) | section[i + 3]!);
  }
  return pids;
}

/** Stream types of a PMT section, as video, audio or other. */
function elementaryStreams(payload: Uint8Array): [number, StreamState['kind']][] {
  const section = payload.subarray(1 + payload[0]!);
  const length = ((section[1]! & 0x0f) << 8) | section[2]!;
  const infoLength = ((section[10]! & 0x0f) << 8) | section[11]!;
  const out: [number, StreamState['kind']][] = [];
  const last = Math.min(section.length, 3 + length - 4);
  for (let i = 12 + infoLength; i + 5 <= last; ) {
    const type = section[i]!;
    const pid = ((section[i + 1]! & 0x1f) << 8) | section[i + 2]!;
    const esInfo = ((section[i + 3]! & 0x0f) << 8) | section[i + 4]!;
    out.push([pid, VIDEO_TYPES.has(type) ? 'video' : AUDIO_TYPES.has(type) ? 'audio' : 'other']);
    i += 5 + esInfo;
  }
  return out;
}

const VIDEO_TYPES = new Set([0x01, 0x02, 0x10, 0x1b, 0x24]);
const AUDIO_TYPES = new Set([0x03, 0x04, 0x0f, 0x11, 0x81]);
