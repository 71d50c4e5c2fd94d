// cleanup --keep N and/or --older-than DURATION: retention across every pool (or --pool), safe to run
// from cron on several hosts.

import { InvalidArgumentError } from '../commander.js';
import type ms from 'ms';
import { requireCommonJs } from '../../commonjs.js';
import { isStorageError, StorageError } from '../../errors.js';
import type { RetentionProgress, RetentionResult } from '../../segments/retention.js';
import { parseShard, type Shard } from '../../segments/shard.js';
import type { CommandContext } from '../context.js';
import { EXIT } from '../exit-codes.js';
import { countOf, formatCount } from '../output.js';
import type { Program } from '../program.js';

interface CleanupOptions {
  keep?: number;
  olderThan?: number;
  all?: boolean;
  dryRun?: boolean;
  maxDelete?: number;
  pool?: string;
  minAge?: number;
  shard?: Shard;
}

export function parseWholeNumber(value: string): number {
  if (!/^\d+$/.test(value) || !Number.isSafeInteger(Number(value))) throw new InvalidArgumentError('must be a whole number, 0 or more');
  return Number(value);
}

export function parseDuration(value: string): number {
  const parsed = /^\d+(\.\d+)?\s*(ms|s|m|h|d|w)$/.test(value) ? requireCommonJs<typeof ms>('ms')(value as ms.StringValue) : undefined;
  if (parsed === undefined || !Number.isFinite(parsed)) throw new InvalidArgumentError('must be a duration with a unit, such as 90s, 10m, 2h, 1d or 1w');
  return parsed;
}

function groupByPools(planned: { id: number; pools: string[] }[]): Map<string, number[]> {
  const groups = new Map<string, number[]>();
  for (const p of planned) {
    const key = p.pools.join(', ');
    let ids = groups.get(key);
    if (ids === undefined) groups.set(key, (ids = []));
    ids.push(p.id);
  }
  return groups;
}

/** Sorted ids as ranges: 1-5, 8, 10-12. */
export function idRanges(ids: readonly number[]): string {
  return rangeParts(ids).join(', ');
}

function rangeParts(ids: readonly number[]): string[] {
  const parts: string[] = [];
  for (let i = 0; i < ids.length; ) {
    let j = i;
    while (j + 1 < ids.length && ids[j + 1] === ids[j]! + 1) j++;
    parts.push(j === i ? `${ids[i]}` : `${ids[i]}-${ids[j]}`);
    i = j + 1;
  }
  return parts;
}

/** `head` and the ranges, wrapped at `width` columns, continuation lines indented. */
export function wrapRanges(head: string, ids: readonly number[], width: number): string {
  const indent = '    ';
  const lines: string[] = [];
  let line = head;
  for (const [index, part] of rangeParts(ids).entries()) {
    const piece = index === 0 ? ` ${part}` : `, ${part}`;
    if (line.length + piece.length > width && line.trim() !== '' && line !== head) {
      lines.push(`${line},`);
      line = `${indent}${part}`;
    } else line += piece;
  }
  lines.push(line);
  return lines.join('\n');
}

function describeProgress(p: RetentionProgress, dryRun: boolean): string {
  return dryRun
    ? `cleanup (dry run): ${formatCount(p.streams)} streams planned, ${formatCount(p.planned)} segments would be deleted`
    : `cleanup: ${formatCount(p.streams)} streams planned, ${formatCount(p.deleted)} of ${formatCount(p.planned)} segments deleted, ${formatCount(p.failed)} failed`;
}

async function render(ctx: CommandContext, result: RetentionResult, dryRun: boolean): Promise<void> {
  const streamFailures = result.streams.flatMap((s) => s.failures.filter((f) => !result.failures.includes(f)).map((f) => ({ stream: s.stream, failure: f })));
  // A pool call cut short by Ctrl-C is no failure of the pool: say so, not "listing failed".
  for (const f of result.failures) {
    const what = result.interrupted && isStorageError(f.error, 'Interrupted') ? 'listing interrupted' : 'listing failed';
    ctx.out.error(`${what}, nothing deleted for the streams it holds: ${f.error.message}`);
  }
  for (const { stream, failure } of streamFailures) ctx.out.error(`stream ${stream}: nothing deleted: ${failure.error.message}`);
  ctx.out.errorsByCause(
    result.streams.flatMap((s) => s.failed.map((f) => ({ item: `${s.stream}/${f.id}`, error: f.error }))),
    (count, pool) => `${countOf(count, 'segment')} not deleted${pool === undefined ? '' : ` from ${pool}`}`,
  );
  if (ctx.out.json) {
    return ctx.out.printJson({
      dryRun,
      interrupted: result.interrupted,
      streams: result.streams.map((s) => ({
        stream: s.stream,
        kept: s.kept,
        protected: s.protected,
        ...(dryRun ? { planned: s.delete.map((d) => ({ id: d.id, pools: d.pools })) } : { deleted: s.deleted.map((d) => d.id) }),
        failed: s.failed.map((f) => ({ id: f.id, pool: f.pool, error: f.error })),
        listingFailed: s.failures,
      })),
      failures: result.failures,
    });
  }
  const trouble = ctx.exitCode !== EXIT.ok;
  if (ctx.out.quiet && !trouble) return;
  const width = Math.max(40, (ctx.io.stdout as { columns?: number }).columns ?? 100);
  if (dryRun) {
    for (const s of result.streams) {
      for (const [pools, ids] of groupByPools(s.delete)) ctx.out.print(wrapRanges(`would delete ${s.stream} segments`, ids, width - ` from ${pools}`.length) + ` from ${pools}`);
    }
  }
  if (result.interrupted) {
    const deleted = result.streams.reduce((n, s) => n + s.deleted.length, 0);
    ctx.out.alert(`interrupted: ${countOf(deleted, 'segment')} deleted before the stop; re-run the same command to finish`);
    for (const s of result.streams) if (s.deleted.length > 0) ctx.out.print(wrapRanges(`deleted ${s.stream} segments`, s.deleted.map((d) => d.id).sort((a, b) => a - b), width));
  }
  await ctx.out.table(
    ['STREAM', 'KEPT', 'PROTECTED', dryRun ? 'WOULD DELETE' : 'DELETED', 'FAILED'],
    result.streams.map((s) => [s.stream, s.kept.length, s.protected.length, dryRun ? s.delete.length : s.deleted.length, s.failed.length + s.failures.length]),
    ['left', 'right', 'right', 'right', 'right'],
  );
}

async function cleanup(ctx: CommandContext, streams: string[], options: CleanupOptions): Promise<void> {
  if ((streams.length === 0) === (options.all !== true)) {
    throw new StorageError('InvalidArgument', streams.length === 0 ? 'name the streams to clean, or give --all for every stream' : 'give either stream names or --all, not both');
  }
  if (options.keep === undefined && options.olderThan === undefined) {
    throw new StorageError('InvalidArgument', 'say what to keep: --keep N (the newest N segments per stream), --older-than DURATION (delete only older ones), or both');
  }
  // Every pool: --pool limits what is deleted, never what protects (playlists in any pool).
  const storage = await ctx.storage();
  // Names as the layout writes them: `app/stream` (SRS), `stream/variant` (variant layouts).
  streams.forEach((stream) => storage.layout.assertStream(stream));
  if (options.pool !== undefined) storage.manager.pool(options.pool);
  // Imported here, not at the top: every other command (and --help) starts faster without it.
  const { runRetention } = await import('../../segments/retention.js');
  const dryRun = options.dryRun === true;
  ctx.io.claimInterrupts?.();
  const progress = await ctx.out.progress(dryRun ? 'cleanup (dry run): listing…' : 'cleanup: listing…');
  let result: RetentionResult;
  try {
    result = await runRetention(storage, {
      keepNewest: options.keep ?? 0,
      olderThanMs: options.olderThan,
      streams: options.all === true ? undefined : streams,
      pool: options.pool,
      minAgeMs: options.minAge,
      shard: options.shard,
      dryRun,
      maxDelete: options.maxDelete,
      signal: ctx.io.signal,
      onProgress: (p) => progress.update(describeProgress(p, dryRun)),
    });
  } finally {
    progress.stop();
  }
  const unsure = result.failures.length > 0 || result.streams.some((s) => s.failures.length > 0);
  if (unsure) ctx.fail(EXIT.failed);
  if (result.refused) {
    ctx.fail(EXIT.failed);
    throw new StorageError('QuotaExceeded', `the plan deletes ${result.planned} segments, more than --max-delete ${options.maxDelete}: nothing was deleted (check with --dry-run)`);
  }
  if (result.streams.some((s) => s.failed.length > 0)) ctx.fail(EXIT.failed);
  if (result.interrupted) ctx.fail(EXIT.interrupted);
  await render(ctx, result, dryRun);
}

function parseShardOption(value: string): Shard {
  try {
    return parseShard(value);
  } catch (error) {
    throw new InvalidArgumentError(error instanceof Error ? error.message.replace(/^--shard "[^"]*": /, '') : String(error));
  }
}

export function registerCleanup(program: Program): void {
  program.command
    .command('cleanup')
    .description('keep the newest N segments per stream, or those younger than a duration (and all a playlist may still serve); delete the rest from every pool')
    .argument('[stream...]', 'streams to clean (or --all): stream, app/stream or stream/variant, as the layout names them')
    .option('--keep <n>', 'segments to keep per stream, newest ids first', parseWholeNumber)
    .option('--older-than <duration>', 'delete only segments older than this (1h, 2d): by the time in their name (time-named layouts), else by modified time', parseDuration)
    .option('--all', 'clean every stream')
    .option('--dry-run', 'print the exact plan and delete nothing')
    .option('--max-delete <n>', 'refuse the whole run if it would delete more than n segments', parseWholeNumber)
    .option('--min-age <duration>', 'never delete a segment modified more recently (90s, 10m, 2h)', parseDuration)
    .option('--pool <name>', 'delete from this pool only (playlists in every pool still protect)')
    .option('--shard <K/N>', 'only the streams whose name hashes to shard K of N (one cron host each)', parseShardOption)
    .addHelpText(
      'after',
      `
Never deleted: segments named by a playlist in any pool (URI lines and URI="..." of tags such as
EXT-X-MAP, EXT-X-PART, EXT-X-PRELOAD-HINT), one more than as many just before its first entry
(RFC 8216 6.2.2), and every segment after its last (the live edge), with --keep 0 too. Only segments are deleted: playlists, master
playlists, fMP4 init files, producers' temporary files (*.tmp, *.bak, *.part) and files that match
no template stay. With --keep and --older-than, a segment goes only when both would delete it.
Nothing is deleted for a stream when any pool's listing or playlist of it fails (exit 1). Ctrl-C
stops, reports what was deleted, and exits 130.

Examples:
  flux-storage cleanup --all --keep 30 --dry-run
  flux-storage cleanup live/cam1 --older-than 2d           (SRS: app/stream; a DVR window of two days)
  */5 * * * * flux-storage -c /etc/flux/storage.config.json cleanup --all --keep 30 --min-age 10m --max-delete 5000 --quiet
  */5 * * * * flux-storage -c /etc/flux/storage.config.json cleanup --all --keep 30 --shard 2/3 --quiet   (host 2 of 3)`,
    )
    .action(program.action(cleanup));
}
