// ls [stream]: every stream with its counts, or one stream's segments, and the pools holding them.

import type { PoolFailure } from '../../pool/manager.js';
import type { CommandContext } from '../context.js';
import { EXIT } from '../exit-codes.js';
import { countOf, formatBytes, formatCount, formatDate } from '../output.js';
import { StorageError } from '../../errors.js';
import { summarizeStream, type SegmentInfo, type SegmentStorage, type StreamContents, type StreamSummary } from '../../segments/segment-storage.js';
import { compareNames } from '../../keys.js';
import { parseWholeNumber } from './cleanup.js';
import type { Program } from '../program.js';

function reportFailures(ctx: CommandContext, failures: PoolFailure[]): void {
  for (const failure of failures) ctx.out.error(`listing is incomplete: ${failure.error.message}`);
  if (failures.length > 0) ctx.fail(EXIT.failed);
}

interface LsOptions {
  pool?: string;
  limit?: number;
  tail?: number;
  /** Also list each stream's playlists, init, master, temporary and other files, with their kind. */
  all?: boolean;
}

/** What `ls STREAM` ends with: counts of the whole stream, whatever --limit or --tail showed. */
export function streamFooter(items: readonly SegmentInfo[]): { segments: number; bytes: number; firstId: number | null; lastId: number | null; gaps: number; missing: number } {
  let bytes = 0;
  let gaps = 0;
  let missing = 0;
  for (let i = 0; i < items.length; i++) {
    bytes += items[i]!.size;
    const step = i === 0 ? 1 : items[i]!.id - items[i - 1]!.id;
    if (step > 1) {
      gaps++;
      missing += step - 1;
    }
  }
  return { segments: items.length, bytes, firstId: items[0]?.id ?? null, lastId: items[items.length - 1]?.id ?? null, gaps, missing };
}

/** A stream's objects other than segments, for `--all`: playlists first, then init, master, temporary and other files. */
function fileRows(contents: StreamContents): { stream: string; key: string; kind: string; size: number | null; modified: Date | null; pools: string[] }[] {
  return [
    ...contents.playlists.map((p) => ({ stream: contents.stream, key: p.key, kind: 'playlist', size: null, modified: null, pools: p.pools })),
    ...contents.files.map((f) => ({ stream: contents.stream, key: f.key, kind: f.kind, size: f.size, modified: f.modified, pools: f.pools })),
  ];
}

async function listAll(ctx: CommandContext, storage: SegmentStorage, options: LsOptions): Promise<void> {
  const order = storage.manager.pools.map((p) => p.name);
  const items: StreamSummary[] = [];
  const files: ReturnType<typeof fileRows> = [];
  const listing = storage.streams({ pool: options.pool, partial: true });
  for await (const contents of listing) {
    items.push(summarizeStream(contents, order));
    if (options.all === true) files.push(...fileRows(contents));
  }
  items.sort((a, b) => compareNames(a.stream, b.stream));
  files.sort((a, b) => compareNames(a.stream, b.stream) || compareNames(a.key, b.key));
  reportFailures(ctx, listing.failures);
  const unowned = listing.unowned;
  if (ctx.out.json) return ctx.out.printJson({ streams: items, ...(options.all === true ? { files } : {}), unowned, failures: listing.failures });
  // Objects under the layout's root that no stream owns are named, never hidden (cleanup leaves them alone).
  for (const { pool, count, examples } of unowned) {
    const more = count > examples.length ? ` and ${formatCount(count - examples.length)} more` : '';
    ctx.out.notice(`${countOf(count, 'object')} in pool "${pool}" under ${JSON.stringify(storage.layout.root || '/')} ${count === 1 ? 'belongs' : 'belong'} to no stream of the layout (${examples.join(', ')}${more}); cleanup leaves them alone`);
  }
  if (items.length === 0) return ctx.out.notice('no streams');
  // Files that match no template are counted, never hidden: the column appears when a stream has any.
  const others = items.reduce((n, s) => n + s.others, 0);
  const extra = options.all === true ? ['FILES', 'OTHER'] : others > 0 ? ['OTHER'] : [];
  await ctx.out.table(
    ['STREAM', 'SEGMENTS', 'SIZE', 'FIRST', 'LAST', 'POOLS', ...extra],
    items.map((s) => [s.stream, s.segments, formatBytes(s.bytes), s.firstId ?? '-', s.lastId ?? '-', s.pools.join(','), ...(options.all === true ? [s.files] : []), ...(extra.length > 0 ? [s.others] : [])]),
    ['left', 'right', 'right', 'right', 'right', 'left', 'right', 'right'],
  );
  if (options.all === true) return printFiles(ctx, files, true);
  if (others > 0) ctx.out.notice(`${countOf(others, 'other file')} (matching none of the layout's names) in the streams' folders: "ls STREAM --all" lists them`);
}

async function printFiles(ctx: CommandContext, files: ReturnType<typeof fileRows>, withStream: boolean): Promise<void> {
  if (files.length === 0) return ctx.out.notice('no files other than segments');
  ctx.out.print('');
  await ctx.out.table(
    [...(withStream ? ['STREAM'] : []), 'KIND', 'KEY', 'SIZE', 'MODIFIED', 'POOLS'],
    files.map((f) => [...(withStream ? [f.stream] : []), f.kind, f.key, f.size === null ? '-' : formatBytes(f.size), f.modified === null ? '-' : formatDate(f.modified), f.pools.join(',')]),
    [...(withStream ? ['left' as const] : []), 'left', 'left', 'right', 'right'],
  );
}

async function ls(ctx: CommandContext, stream: string | undefined, options: LsOptions): Promise<void> {
  if (options.limit !== undefined && options.tail !== undefined) throw new StorageError('InvalidArgument', 'give either --limit or --tail, not both');
  const storage = await ctx.storage({ pool: options.pool });
  if (stream !== undefined) storage.layout.assertStream(stream);
  const progress = await ctx.out.progress('listing…', { lines: false });
  try {
    if (stream === undefined) return await listAll(ctx, storage, options);
    const listing = storage.streams({ streams: [stream], pool: options.pool, partial: true });
    let contents: StreamContents = { stream, segments: [], playlists: [], files: [], others: 0, failures: [] };
    for await (const found of listing) contents = found;
    const failures = contents.failures.length > 0 ? contents.failures : listing.failures;
    progress.stop();
    reportFailures(ctx, failures);
    const found = contents.segments.length > 0 || contents.playlists.length > 0 || contents.files.length > 0;
    if (!found && failures.length === 0) {
      const where = options.pool === undefined ? 'no pool holds a' : `pool "${options.pool}" holds no`;
      throw new StorageError('NotFound', `${where} stream named ${JSON.stringify(stream)} (see "flux-storage ls" for the streams there are)`);
    }
    const items = contents.segments.map(({ newestModified: _newest, ...segment }) => segment);
    const files = fileRows(contents);
    const footer = streamFooter(items);
    const shown = options.tail !== undefined ? items.slice(Math.max(0, items.length - options.tail)) : options.limit !== undefined ? items.slice(0, options.limit) : items;
    if (ctx.out.json) {
      return ctx.out.printJson({ stream, segments: shown, summary: footer, others: contents.others, ...(options.all === true ? { files } : {}), failures });
    }
    if (items.length === 0) ctx.out.notice(`no segments in stream ${stream}`);
    else {
      await ctx.out.table(
        ['ID', 'SIZE', 'MODIFIED', 'POOLS'],
        shown.map((s) => [s.id, formatBytes(s.size), formatDate(s.modified), s.pools.join(',')]),
        ['right', 'right'],
      );
      const showing = shown.length < items.length ? `showing ${options.tail !== undefined ? 'last' : 'first'} ${formatCount(shown.length)} of ` : '';
      const gaps = footer.gaps === 0 ? 'no gaps' : `${countOf(footer.gaps, 'gap')} (${countOf(footer.missing, 'id')} missing)`;
      const others = contents.others > 0 && options.all !== true ? `; ${countOf(contents.others, 'other file')} ("--all" lists them)` : '';
      ctx.out.print(`${showing}${countOf(footer.segments, 'segment')}, ${formatBytes(footer.bytes)}, ids ${footer.firstId}-${footer.lastId}, ${gaps}${others}`);
    }
    if (options.all === true) await printFiles(ctx, files, false);
    else if (items.length === 0 && contents.others > 0) ctx.out.notice(`${countOf(contents.others, 'other file')}: "--all" lists them`);
  } finally {
    progress.stop();
  }
}

export function registerLs(program: Program): void {
  program.command
    .command('ls')
    .description('list streams, or the segments of one stream, with the pools that hold them')
    .argument('[stream]', 'stream name')
    .option('--pool <name>', 'list this pool only')
    .option('--limit <n>', 'with a stream: show its first n segments (the footer counts them all)', parseWholeNumber)
    .option('--tail <n>', 'with a stream: show its last n segments', parseWholeNumber)
    .option('--all', "also list the streams' playlists, init, master, temporary and other files, each with its kind")
    .addHelpText(
      'after',
      '\nA stream that no pool holds is an error (exit 3). Streams are named as the layout names them: live/cam1 (SRS), cam1/v0 (variants). Files in a stream\'s folder that match none of the layout\'s names are counted as "other" (an OTHER column, a footer); --all lists them.\n\nExamples:\n  flux-storage ls\n  flux-storage ls cam1 --tail 20\n  flux-storage ls live/cam1 --all\n  flux-storage ls cam1 --json | jq ".segments | length"',
    )
    .action(program.action(ls));
}
