// verify: is a stream intact, and can a player play it from where it is? Each stream's objects in
// every pool, its stored playlist, and the head of each segment (the whole of it with `deep`) are
// checked; every problem is a finding with its kind, ids or keys, and pools.

import pLimit from 'p-limit';
import { isStorageError } from '../errors.js';
import { containerOf, HEAD_BYTES, headProblem, segmentTiming, type Container } from '../media/timing.js';
import type { PoolFailure } from '../pool/manager.js';
import type { StoragePool } from '../pool/pool.js';
import { parseM3u8, uriToKey } from './m3u8.js';
import type { SegmentLayout } from './layout.js';
import type { SegmentStorage } from './segment-storage.js';

export type FindingKind =
  | 'missing'
  | 'gap'
  | 'conflict'
  | 'empty'
  | 'not-mpegts'
  | 'not-fmp4'
  | 'bad-playlist'
  | 'over-target-duration'
  | 'no-init'
  | 'timestamp-jump'
  | 'unreadable';

export interface Finding {
  kind: FindingKind;
  /** What is wrong, in words. */
  detail: string;
  ids?: number[];
  keys?: string[];
  pools?: string[];
}

export interface StreamReport {
  stream: string;
  segments: number;
  findings: Finding[];
  /** Pools whose listing failed: the stream's report is then incomplete. */
  failures: PoolFailure[];
}

export interface VerifyOptions {
  /** Streams to check; undefined for every stream. */
  streams?: readonly string[] | undefined;
  pool?: string | undefined;
  /** Read every segment whole: containers throughout, and timestamp continuity across segments. */
  deep?: boolean;
  /** Objects read at once. */
  concurrency?: number;
  signal?: AbortSignal | undefined;
  onProgress?: (done: number, total: number) => void;
}

/** Timestamps further apart than this from the previous segment's end are a jump. */
const JUMP_TOLERANCE_S = 0.5;

interface Held {
  key: string;
  /** Copies by pool, in priority order. */
  copies: { pool: string; size: number; md5?: string | undefined }[];
}

/** Reports per stream, in name order. Streams that no pool holds are reported with a 'missing' finding. */
export async function verifyStreams(storage: SegmentStorage, options: VerifyOptions = {}): Promise<StreamReport[]> {
  const pools = storage.manager.poolsFor(options.pool);
  // Partial: the streams of the pools that answered are still verified, and each stream's own
  // listing names the pool that could not be read.
  const names = options.streams ?? (await storage.listStreams({ partial: true, ...(options.pool === undefined ? {} : { pool: options.pool }) })).items.map((s) => s.stream);
  const limit = pLimit(options.concurrency ?? 16);
  const reports: StreamReport[] = [];
  let done = 0;
  let total = 0;
  for (const stream of names) {
    const report = await verifyStream(storage, pools, stream, options, limit, (n) => {
      total += n;
    }, () => options.onProgress?.(++done, total));
    reports.push(report);
  }
  return reports;
}

async function verifyStream(
  storage: SegmentStorage,
  pools: readonly StoragePool[],
  stream: string,
  options: VerifyOptions,
  limit: ReturnType<typeof pLimit>,
  planned: (n: number) => void,
  progressed: () => void,
): Promise<StreamReport> {
  const layout = storage.layout;
  const signal = options.signal;
  const held = new Map<string, Held>();
  const failures: PoolFailure[] = [];
  // A stream's folder, or for the master playlists of a variant layout (`cam1`), the master's folder.
  const folder = layout.groupPrefix(stream);
  await Promise.all(
    pools.map(async (pool) => {
      try {
        for await (const info of pool.list(folder, { signal })) {
          if (layout.parse(info.key)?.stream !== stream) continue;
          const entry = held.get(info.key) ?? { key: info.key, copies: [] };
          entry.copies.push({ pool: pool.name, size: info.size, md5: info.md5 });
          held.set(info.key, entry);
        }
      } catch (error) {
        failures.push({ pool: pool.name, error: pool.named(error, folder) });
      }
    }),
  );
  const order = pools.map((p) => p.name);
  for (const entry of held.values()) entry.copies.sort((a, b) => order.indexOf(a.pool) - order.indexOf(b.pool));
  const findings: Finding[] = [];
  const segments = [...held.values()]
    .map((entry) => ({ entry, parsed: layout.parse(entry.key)! }))
    .filter((s): s is { entry: Held; parsed: { stream: string; kind: 'segment'; id: number } } => s.parsed.kind === 'segment')
    .sort((a, b) => a.parsed.id - b.parsed.id);
  if (held.size === 0 && failures.length === 0) findings.push({ kind: 'missing', detail: 'no pool holds anything of this stream' });

  // Copies that differ between pools: which one a player gets depends on the pool order.
  for (const { key, copies } of held.values()) {
    if (copies.length < 2) continue;
    const sizes = new Set(copies.map((c) => c.size));
    const md5s = new Set(copies.map((c) => c.md5).filter((m) => m !== undefined));
    if (sizes.size > 1 || md5s.size > 1) {
      const what = sizes.size > 1 ? `sizes ${copies.map((c) => `${c.pool} ${c.size} B`).join(', ')}` : 'different md5s';
      findings.push({ kind: 'conflict', detail: `copies differ between pools (${what})`, keys: [key], pools: copies.map((c) => c.pool) });
    }
  }

  // Ids missing inside the stored range (sequence ids only: times have no next one to expect).
  if (layout.idKind === 'sequence') {
    const missing: number[] = [];
    for (let i = 1; i < segments.length; i++) {
      for (let id = segments[i - 1]!.parsed.id + 1; id < segments[i]!.parsed.id && missing.length < 10_000; id++) missing.push(id);
    }
    if (missing.length > 0) findings.push({ kind: 'gap', detail: `${missing.length} id${missing.length === 1 ? '' : 's'} missing inside ${segments[0]!.parsed.id}-${segments[segments.length - 1]!.parsed.id}`, ids: missing });
  }

  // The stored playlists (a stream's own, or the master of its variants): each parses, its EXTINFs
  // fit its target duration, every URI it names (segment, init file, variant playlist) is held.
  const playlistKeys = [...held.keys()].filter((key) => ['playlist', 'master'].includes(layout.parse(key)?.kind ?? ''));
  let namesInit = false;
  for (const playlistKey of playlistKeys) {
    const holder = storage.manager.pool(held.get(playlistKey)!.copies[0]!.pool);
    try {
      const playlist = parseM3u8((await holder.read(playlistKey, { signal })).toString('utf8'));
      if (!playlist.valid) findings.push({ kind: 'bad-playlist', detail: 'the playlist does not start with #EXTM3U', keys: [playlistKey], pools: [holder.name] });
      const target = playlist.targetDuration;
      const over = playlist.uris.filter((u) => u.duration !== undefined && target !== undefined && Math.round(u.duration) > target);
      if (over.length > 0) {
        findings.push({ kind: 'over-target-duration', detail: `${over.length} EXTINF over EXT-X-TARGETDURATION ${target} (e.g. ${over[0]!.duration} s at line ${over[0]!.line})`, keys: [playlistKey] });
      }
      const absent: string[] = [];
      const absentIds: number[] = [];
      for (const { uri, tag } of playlist.uris) {
        const key = uriToKey(uri, playlistKey, layout.root);
        if (key === undefined || tag === 'EXT-X-RENDITION-REPORT' || tag === 'EXT-X-PRELOAD-HINT') continue;
        if (tag === 'EXT-X-MAP') namesInit = true;
        if (held.has(key) || (await existsAnywhere(pools, key, signal, failures))) continue;
        absent.push(key);
        const parsed = layout.parse(key);
        if (parsed?.kind === 'segment') absentIds.push(parsed.id);
      }
      if (absent.length > 0) {
        const named = layout.parse(playlistKey)?.kind === 'master' ? 'master playlist' : 'playlist';
        findings.push({ kind: 'missing', detail: `${absent.length} file${absent.length === 1 ? '' : 's'} the ${named} names ${absent.length === 1 ? 'is' : 'are'} in no pool (players get 404)`, keys: absent, ...(absentIds.length > 0 ? { ids: absentIds } : {}) });
      }
    } catch (error) {
      if (!isStorageError(error, 'NotFound')) failures.push({ pool: holder.name, error: holder.named(error, playlistKey) });
    }
  }

  // fMP4 needs its init file.
  const fmp4 = segments.some((s) => containerOf(s.entry.key) === 'fmp4');
  // The one held first: under a free stem (MediaMTX) the layout cannot name it from the stream alone.
  // A group of master playlists (`cam1` of `cam1/v0`) has no init file of its own.
  const initKey = [...held.keys()].find((key) => layout.parse(key)?.kind === 'init') ?? (!isStreamName(layout, stream) ? undefined : layout.initKey(stream));
  const init = initKey === undefined ? undefined : held.get(initKey);
  if (fmp4 && init === undefined) {
    findings.push({ kind: 'no-init', detail: `fMP4 segments without their init file${initKey === undefined ? '' : ` ${initKey}`}`, ...(initKey === undefined ? {} : { keys: [initKey] }) });
  } else if (namesInit && init === undefined && initKey !== undefined) {
    findings.push({ kind: 'no-init', detail: 'the playlist names an init file (EXT-X-MAP) that no pool holds', keys: [initKey] });
  }

  // Each segment's bytes: its head (or all of it), and with `deep` the timestamps across segments.
  planned(segments.length);
  const initBytes = options.deep === true && fmp4 && init !== undefined ? await storage.manager.pool(init.copies[0]!.pool).read(init.key, { signal }).catch(() => undefined) : undefined;
  const empty: number[] = [];
  const bad = new Map<Container, { ids: number[]; keys: string[]; detail: string }>();
  const unreadable: { key: string; error: string }[] = [];
  const timings = await Promise.all(
    segments.map(({ entry, parsed }) =>
      limit(async () => {
        try {
          const copy = entry.copies[0]!;
          if (copy.size === 0) {
            empty.push(parsed.id);
            return undefined;
          }
          const container = containerOf(entry.key) ?? 'mpegts';
          const pool = storage.manager.pool(copy.pool);
          const whole = options.deep === true || copy.size <= HEAD_BYTES;
          const data = await readRange(pool, entry.key, whole ? undefined : HEAD_BYTES, signal);
          const problem = headProblem(container, data, whole);
          if (problem !== undefined) {
            const group = bad.get(container) ?? { ids: [], keys: [], detail: problem };
            group.ids.push(parsed.id);
            group.keys.push(entry.key);
            bad.set(container, group);
            return undefined;
          }
          return options.deep === true ? { id: parsed.id, timing: segmentTiming(container, data, initBytes) } : undefined;
        } catch (error) {
          unreadable.push({ key: entry.key, error: isStorageError(error) ? `${error.code}: ${error.detail}` : String(error) });
          return undefined;
        } finally {
          progressed();
        }
      }),
    ),
  );
  if (empty.length > 0) findings.push({ kind: 'empty', detail: `${empty.length} empty segment${empty.length === 1 ? '' : 's'} (0 bytes)`, ids: empty.sort((a, b) => a - b) });
  for (const [container, group] of bad) {
    findings.push({ kind: container === 'fmp4' ? 'not-fmp4' : 'not-mpegts', detail: `${group.ids.length} segment${group.ids.length === 1 ? ' is' : 's are'} not ${container === 'fmp4' ? 'fMP4' : 'MPEG-TS'} (e.g. ${group.detail})`, ids: group.ids, keys: group.keys });
  }
  if (unreadable.length > 0) findings.push({ kind: 'unreadable', detail: `${unreadable.length} segment${unreadable.length === 1 ? '' : 's'} could not be read (e.g. ${unreadable[0]!.error})`, keys: unreadable.map((u) => u.key) });
  if (options.deep === true) {
    const timed = timings.filter((t): t is { id: number; timing: NonNullable<ReturnType<typeof segmentTiming>> } => t?.timing !== undefined);
    const jumps: number[] = [];
    for (let i = 1; i < timed.length; i++) {
      const previous = timed[i - 1]!;
      const gapless = timed[i]!.id === previous.id + 1 || layout.idKind === 'time';
      if (gapless && Math.abs(timed[i]!.timing.start - (previous.timing.start + previous.timing.duration)) > JUMP_TOLERANCE_S) jumps.push(timed[i]!.id);
    }
    if (jumps.length > 0) findings.push({ kind: 'timestamp-jump', detail: `timestamps jump at ${jumps.length} segment${jumps.length === 1 ? '' : 's'} (players may stall or skip)`, ids: jumps });
  }
  return { stream, segments: segments.length, findings, failures };
}

/** Whether `name` is a stream of the layout (else a group, such as the master playlists of `cam1`). */
export function isStreamName(layout: SegmentLayout, name: string): boolean {
  try {
    layout.assertStream(name);
    return true;
  } catch {
    return false;
  }
}

/** The first `bytes` of an object (all of it when undefined). */
async function readRange(pool: StoragePool, key: string, bytes: number | undefined, signal: AbortSignal | undefined): Promise<Buffer> {
  const chunks: Uint8Array[] = [];
  for await (const chunk of pool.readStream(key, { ...(bytes === undefined ? {} : { start: 0, end: bytes - 1 }), signal })) chunks.push(chunk);
  return Buffer.concat(chunks);
}

/** Whether a key outside the stream's own folder listing (a playlist may name one) is in some pool. */
async function existsAnywhere(pools: readonly StoragePool[], key: string, signal: AbortSignal | undefined, failures: PoolFailure[]): Promise<boolean> {
  for (const pool of pools) {
    try {
      if (await pool.exists(key, { signal })) return true;
    } catch (error) {
      failures.push({ pool: pool.name, error: pool.named(error, key) });
      return true;
    }
  }
  return false;
}
