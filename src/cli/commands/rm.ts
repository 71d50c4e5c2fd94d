// rm <stream> [id|from-to...] [--playlist]: removes segments (and the playlist) from every pool
// holding them, or from --pool alone.

import { isStorageError, StorageError } from '../../errors.js';
import { parseSegmentId } from '../../segments/layout.js';
import { playlistKey, segmentKeys } from '../../segments/lookup.js';
import type { CommandContext } from '../context.js';
import { EXIT } from '../exit-codes.js';
import { countOf } from '../output.js';
import type { Program } from '../program.js';
import { idRanges } from './cleanup.js';

interface RmOptions {
  pool?: string;
  playlist?: boolean;
}

interface IdRange {
  text: string;
  from: number;
  to: number;
}

/** `42` or `10-20` (both ends included). */
function parseIdOrRange(text: string): number | IdRange {
  const range = /^(\d+)-(\d+)$/.exec(text);
  if (range === null) return parseSegmentId(text);
  const [from, to] = [parseSegmentId(range[1]!), parseSegmentId(range[2]!)];
  if (from > to) throw new StorageError('InvalidArgument', `id range ${text} runs backwards: write it ${to}-${from}`);
  return { text, from, to };
}

async function rm(ctx: CommandContext, stream: string, idTexts: string[], options: RmOptions): Promise<void> {
  if (idTexts.length === 0 && options.playlist !== true) throw new StorageError('InvalidArgument', 'name the segment ids (42, or a range 10-20) or give --playlist');
  const parsed = idTexts.map(parseIdOrRange);
  const ranges = parsed.filter((p): p is IdRange => typeof p !== 'number');
  const inRange = (id: number): boolean => ranges.some((r) => id >= r.from && id <= r.to);
  const ids = [...new Set(parsed.filter((p): p is number => typeof p === 'number' && !inRange(p)))];
  const storage = await ctx.storage({ pool: options.pool });
  storage.layout.assertStream(stream);
  // The real keys first (under a free stem, from a listing): two names of one id refuse the whole rm.
  const keys = await segmentKeys(storage, stream, ids, options);
  const playlistAt = options.playlist === true ? await playlistKey(storage, stream, options) : undefined;
  const removed: { id: number; key: string; deletedFrom: string[] }[] = [];
  const notFound: number[] = [];
  const emptyRanges: string[] = [];
  const failed: { id: number | null; error: unknown }[] = [];
  let playlist: { key: string; deletedFrom: string[] } | null = null;
  const notFoundOrFailed = (id: number | null, error: unknown): void => {
    if (isStorageError(error, 'NotFound') && id !== null) {
      notFound.push(id);
      ctx.fail(EXIT.notFound);
    } else {
      failed.push({ id, error });
      ctx.fail(EXIT.failed);
    }
  };
  if (options.playlist === true) {
    // The playlist first: a player must not be sent to segments that are being removed.
    try {
      playlist = { key: playlistAt!, ...(await storage.manager.delete(playlistAt!, options)) };
    } catch (error) {
      if (!isStorageError(error, 'NotFound')) {
        notFoundOrFailed(null, error);
        ctx.out.error(error);
      } else {
        ctx.fail(EXIT.notFound);
        ctx.out.error(`stream ${stream}: no pool holds its playlist`);
      }
    }
  }
  if (ranges.length > 0) {
    // A range removes the segments of it that the pools list: ids never written are no error.
    const { items, failures } = await storage.listSegments(stream, options);
    for (const f of failures) {
      failed.push({ id: null, error: f.error });
      ctx.fail(EXIT.failed);
      ctx.out.error(`listing is incomplete, the range's segments there were not deleted: ${f.error.message}`);
    }
    const listed = items.filter((s) => inRange(s.id));
    for (const range of ranges) {
      if (failures.length === 0 && !listed.some((s) => s.id >= range.from && s.id <= range.to)) {
        emptyRanges.push(range.text);
        ctx.fail(EXIT.notFound);
      }
    }
    const { deleted, failed: deleteFailures } = await storage.deleteObjects(listed.map((s) => ({ key: s.key, kind: 'segment', id: s.id, size: s.size, pools: s.pools })));
    removed.push(...deleted.map((o) => ({ id: o.id!, key: o.key, deletedFrom: o.pools })));
    for (const f of deleteFailures) notFoundOrFailed(f.id, f.error);
  }
  for (const id of ids) {
    const key = keys.get(id);
    try {
      if (key === undefined) throw new StorageError('NotFound', `segment ${id} of ${stream}: no pool holds it`);
      removed.push({ id, key, ...(await storage.manager.delete(key, options)) });
    } catch (error) {
      notFoundOrFailed(id, error);
    }
  }
  removed.sort((a, b) => a.id - b.id);
  ctx.out.errorsByCause(
    failed.flatMap((f) => (f.id === null ? [] : [{ item: `${f.id}`, error: f.error }])),
    (count, pool) => `${countOf(count, 'segment')} of ${stream} not deleted${pool === undefined ? '' : ` from ${pool}`}`,
  );
  if (ctx.out.json) return ctx.out.printJson({ stream, removed, ...(options.playlist === true ? { playlist } : {}), notFound, ...(ranges.length > 0 ? { emptyRanges } : {}), failed });
  if (!ctx.out.quiet) {
    if (playlist !== null) ctx.out.print(`removed the playlist of ${stream} from ${playlist.deletedFrom.join(', ')}`);
    const byPools = new Map<string, number[]>();
    for (const r of removed) byPools.set(r.deletedFrom.join(', '), [...(byPools.get(r.deletedFrom.join(', ')) ?? []), r.id]);
    for (const [pools, removedIds] of byPools) ctx.out.print(`removed ${removedIds.length === 1 ? 'segment' : 'segments'} ${idRanges(removedIds)} of ${stream} from ${pools}`);
  }
  for (const id of notFound) ctx.out.error(`segment ${id} of ${stream}: no pool holds it`);
  for (const range of emptyRanges) ctx.out.error(`segments ${range} of ${stream}: no pool holds any of them`);
}

export function registerRm(program: Program): void {
  program.command
    .command('rm')
    .description('delete segments (ids or ranges) and playlists from every pool that holds them')
    .argument('<stream>', 'stream name')
    .argument('[id...]', 'segment ids, or ranges such as 10-20 (both ends included)')
    .option('--playlist', "also delete the stream's playlist (first, before its segments)")
    .option('--pool <name>', 'delete from this pool only')
    .addHelpText('after', '\nExamples:\n  flux-storage rm cam1 41 42\n  flux-storage rm cam1 10-20\n  flux-storage rm cam1 --playlist\n  flux-storage rm cam1 42 --pool s3')
    .action(program.action(rm));
}
