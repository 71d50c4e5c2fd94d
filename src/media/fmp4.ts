// Fragmented MP4 (CMAF, HLS fMP4), read as far as segment checks need: a well-formed sequence of
// boxes, the timescales an init file gives its tracks, and a media segment's decode times, from
// which its duration is measured (latest end over the tracks minus earliest start).

/** Top-level box types that may stand in an init file or a media segment. */
const TOP_LEVEL = new Set(['ftyp', 'styp', 'moov', 'moof', 'mdat', 'sidx', 'emsg', 'prft', 'free', 'skip', 'uuid', 'mfra', 'meta', 'ssix', 'pdin', 'wide']);

export interface Box {
  type: string;
  /** Offset of the box's header in the data. */
  start: number;
  /** Offset of the box's payload (after its header). */
  body: number;
  /** Offset just past the box. */
  end: number;
}

/** The boxes directly inside data[from, to). Throws an Error naming the offset where the structure breaks. */
export function boxes(data: Uint8Array, from = 0, to = data.length): Box[] {
  const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
  const out: Box[] = [];
  for (let offset = from; offset < to; ) {
    if (to - offset < 8) throw new Error(`a truncated box header at byte ${offset}`);
    let size = view.getUint32(offset);
    const type = String.fromCharCode(data[offset + 4]!, data[offset + 5]!, data[offset + 6]!, data[offset + 7]!);
    let body = offset + 8;
    if (size === 1) {
      if (to - offset < 16) throw new Error(`a truncated box header at byte ${offset}`);
      size = Number(view.getBigUint64(offset + 8));
      body = offset + 16;
    } else if (size === 0) {
      size = to - offset;
    }
    if (size < body - offset || offset + size > to) throw new Error(`the ${JSON.stringify(type)} box at byte ${offset} claims ${size} bytes, past the end`);
    out.push({ type, start: offset, body, end: offset + size });
    offset += size;
  }
  return out;
}

/** The boxes of `type` directly inside `parent` (at the top level without one). */
function childBoxes(data: Uint8Array, parent: Box | undefined, type: string): Box[] {
  return boxes(data, parent?.body ?? 0, parent?.end ?? data.length).filter((b) => b.type === type);
}

/**
 * Why `head` (the start of an object, perhaps cut short) is not the start of an fMP4 init file or
 * segment, or undefined when its top-level boxes are well formed as far as they are there.
 */
export function fmp4HeadProblem(head: Uint8Array, complete: boolean): string | undefined {
  try {
    const view = new DataView(head.buffer, head.byteOffset, head.byteLength);
    let offset = 0;
    while (offset + 8 <= head.length) {
      const type = String.fromCharCode(head[offset + 4]!, head[offset + 5]!, head[offset + 6]!, head[offset + 7]!);
      if (!TOP_LEVEL.has(type)) return `no MP4 box at byte ${offset} (found ${JSON.stringify(type)})`;
      let size = view.getUint32(offset);
      if (size === 1) {
        if (offset + 16 > head.length) break;
        size = Number(view.getBigUint64(offset + 8));
      }
      if (size === 0) return undefined;
      if (size < 8) return `the ${JSON.stringify(type)} box at byte ${offset} claims ${size} bytes`;
      if (complete && offset + size > head.length) return `the ${JSON.stringify(type)} box at byte ${offset} claims ${size} bytes, past the end`;
      offset += size;
    }
    if (offset === 0) return 'too short for an MP4 box';
    if (complete && offset !== head.length) return `${head.length - offset} stray bytes after the last box`;
    return undefined;
  } catch (error) {
    return (error as Error).message;
  }
}

export interface Fmp4Track {
  /** Ticks per second of the track's times. */
  timescale: number;
  /** From the handler box: 'vide', 'soun', ... */
  handler: string;
  /** trex's default sample duration, for fragments that name none. */
  defaultDuration: number;
}

/** The tracks an init file describes, by track id. */
export function initTracks(init: Uint8Array): Map<number, Fmp4Track> {
  const tracks = new Map<number, Fmp4Track>();
  const view = new DataView(init.buffer, init.byteOffset, init.byteLength);
  for (const moov of childBoxes(init, undefined, 'moov')) {
    for (const trak of childBoxes(init, moov, 'trak')) {
      const inner = boxes(init, trak.body, trak.end);
      const tkhd = inner.find((b) => b.type === 'tkhd');
      const mdia = inner.find((b) => b.type === 'mdia');
      if (tkhd === undefined || mdia === undefined) continue;
      const trackId = view.getUint32(tkhd.body + (init[tkhd.body] === 1 ? 20 : 12));
      const parts = boxes(init, mdia.body, mdia.end);
      const mdhd = parts.find((b) => b.type === 'mdhd');
      const hdlr = parts.find((b) => b.type === 'hdlr');
      if (mdhd === undefined) continue;
      const handler = hdlr === undefined ? '' : String.fromCharCode(...init.subarray(hdlr.body + 8, hdlr.body + 12));
      tracks.set(trackId, { timescale: view.getUint32(mdhd.body + (init[mdhd.body] === 1 ? 20 : 12)), handler, defaultDuration: 0 });
    }
    for (const mvex of childBoxes(init, moov, 'mvex')) {
      for (const trex of childBoxes(init, mvex, 'trex')) {
        const track = tracks.get(view.getUint32(trex.body + 4));
        if (track !== undefined) track.defaultDuration = view.getUint32(trex.body + 12);
      }
    }
  }
  return tracks;
}

export interface Fmp4Timing {
  /** Decode time of the segment's first sample, in seconds (of its video track where it has one). */
  start: number;
  /** How long its samples last, in seconds (of its video track where it has one: what muxers write as EXTINF). */
  duration: number;
}

/**
 * Start and duration of a media segment, from each track fragment's base decode time (tfdt) and
 * its samples' durations (trun, else tfhd's or trex's default). The video track decides where
 * there is one, else the longest track. Undefined when it has no fragment of a track the init names.
 */
export function fmp4Timing(segment: Uint8Array, tracks: Map<number, Fmp4Track>): Fmp4Timing | undefined {
  const view = new DataView(segment.buffer, segment.byteOffset, segment.byteLength);
  const spans = new Map<number, { start: number; end: number }>();
  for (const moof of childBoxes(segment, undefined, 'moof')) {
    for (const traf of childBoxes(segment, moof, 'traf')) {
      const inner = boxes(segment, traf.body, traf.end);
      const tfhd = inner.find((b) => b.type === 'tfhd');
      const tfdt = inner.find((b) => b.type === 'tfdt');
      if (tfhd === undefined || tfdt === undefined) continue;
      const trackId = view.getUint32(tfhd.body + 4);
      const track = tracks.get(trackId);
      if (track === undefined) continue;
      const scale = track.timescale;
      const tfhdFlags = view.getUint32(tfhd.body) & 0xffffff;
      let at = tfhd.body + 8;
      if (tfhdFlags & 0x1) at += 8;
      if (tfhdFlags & 0x2) at += 4;
      const defaultDuration = tfhdFlags & 0x8 ? view.getUint32(at) : track.defaultDuration;
      const base = segment[tfdt.body] === 1 ? Number(view.getBigUint64(tfdt.body + 4)) : view.getUint32(tfdt.body + 4);
      let ticks = 0;
      for (const trun of childBoxes(segment, traf, 'trun')) ticks += trunDuration(view, trun, defaultDuration);
      const span = { start: base / scale, end: (base + ticks) / scale };
      const known = spans.get(trackId);
      spans.set(trackId, known === undefined ? span : { start: Math.min(known.start, span.start), end: Math.max(known.end, span.end) });
    }
  }
  if (spans.size === 0) return undefined;
  const video = [...spans].find(([id]) => tracks.get(id)?.handler === 'vide')?.[1];
  const span = video ?? [...spans.values()].reduce((a, b) => (b.end - b.start > a.end - a.start ? b : a));
  return { start: span.start, duration: span.end - span.start };
}

function trunDuration(view: DataView, trun: Box, defaultDuration: number): number {
  const flags = view.getUint32(trun.body) & 0xffffff;
  const count = view.getUint32(trun.body + 4);
  let at = trun.body + 8;
  if (flags & 0x1) at += 4;
  if (flags & 0x4) at += 4;
  if (!(flags & 0x100)) return count * defaultDuration;
  const perSample = 4 * [0x100, 0x200, 0x400, 0x800].filter((bit) => flags & bit).length;
  let total = 0;
  for (let i = 0; i < count; i++, at += perSample) total += view.getUint32(at);
  return total;
}
