// ls [stream]: every stream with its counts, or one stream's segments, and the pools holding them.

import type { PoolFailure } from '../../pool/manager.js';
import { assertStreamName } from '../../segments/layout.js';
import type { CommandContext } from '../context.js';
import { EXIT } from '../exit-codes.js';
import { countOf, formatBytes, formatCount, formatDate } from '../output.js';
import { StorageError } from '../../errors.js';
import type { SegmentInfo } from '../../segments/segment-storage.js';
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

async function ls(ctx: CommandContext, stream: string | undefined, options: LsOptions): Promise<void> {
  if (stream !== undefined) assertStreamName(stream);
  if (options.limit !== undefined && options.tail !== undefined) throw new StorageError('InvalidArgument', 'give either --limit or --tail, not both');
  const storage = await ctx.storage({ pool: options.pool });
  const progress = await ctx.out.progress('listing…');
  try {
    if (stream === undefined) {
      const { items, failures } = await storage.listStreams({ pool: options.pool, partial: true });
      progress.stop();
      reportFailures(ctx, failures);
      if (ctx.out.json) return ctx.out.printJson({ streams: items, failures });
      if (items.length === 0) return ctx.out.notice('no streams');
      await ctx.out.table(
        ['STREAM', 'SEGMENTS', 'SIZE', 'FIRST', 'LAST', 'POOLS'],
        items.map((s) => [s.stream, s.segments, formatBytes(s.bytes), s.firstId ?? '-', s.lastId ?? '-', s.pools.join(',')]),
        ['left', 'right', 'right', 'right', 'right'],
      );
      return;
    }
    const { items, failures, found } = await storage.listSegments(stream, { pool: options.pool, partial: true });
    progress.stop();
    reportFailures(ctx, failures);
    if (!found && failures.length === 0) {
      const where = options.pool === undefined ? 'no pool holds' : `pool "${options.pool}" holds`;
      throw new StorageError('NotFound', `${where} a stream named ${JSON.stringify(stream)} (see "flux-storage ls" for the streams there are)`);
    }
    const footer = streamFooter(items);
    const shown = options.tail !== undefined ? items.slice(Math.max(0, items.length - options.tail)) : options.limit !== undefined ? items.slice(0, options.limit) : items;
    if (ctx.out.json) return ctx.out.printJson({ stream, segments: shown, summary: footer, failures });
    if (items.length === 0) return ctx.out.notice(`no segments in stream ${stream}`);
    await ctx.out.table(
      ['ID', 'SIZE', 'MODIFIED', 'POOLS'],
      shown.map((s) => [s.id, formatBytes(s.size), formatDate(s.modified), s.pools.join(',')]),
      ['right', 'right'],
    );
    const showing = shown.length < items.length ? `showing ${options.tail !== undefined ? 'last' : 'first'} ${formatCount(shown.length)} of ` : '';
    const gaps = footer.gaps === 0 ? 'no gaps' : `${countOf(footer.gaps, 'gap')} (${countOf(footer.missing, 'id')} missing)`;
    ctx.out.print(`${showing}${countOf(footer.segments, 'segment')}, ${formatBytes(footer.bytes)}, ids ${footer.firstId}-${footer.lastId}, ${gaps}`);
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
    .addHelpText(
      'after',
      '\nA stream that no pool holds is an error (exit 3).\n\nExamples:\n  flux-storage ls\n  flux-storage ls cam1 --tail 20\n  flux-storage ls cam1 --json | jq ".segments | length"',
    )
    .action(program.action(ls));
}
