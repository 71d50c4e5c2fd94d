// ls [stream]: every stream with its counts, or one stream's segments, and the pools holding them.

import type { PoolFailure } from '../../pool/manager.js';
import { assertStreamName } from '../../segments/layout.js';
import type { CommandContext } from '../context.js';
import { EXIT } from '../exit-codes.js';
import { formatBytes, formatDate } from '../output.js';
import type { Program } from '../program.js';

function reportFailures(ctx: CommandContext, failures: PoolFailure[]): void {
  for (const failure of failures) ctx.out.error(`listing is incomplete: ${failure.error.message}`);
  if (failures.length > 0) ctx.fail(EXIT.failed);
}

async function ls(ctx: CommandContext, stream: string | undefined, options: { pool?: string }): Promise<void> {
  if (stream !== undefined) assertStreamName(stream);
  const storage = await ctx.storage({ pool: options.pool });
  const progress = await ctx.out.progress('listing…');
  try {
    if (stream === undefined) {
      const { items, failures } = await storage.listStreams(options);
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
    const { items, failures } = await storage.listSegments(stream, options);
    progress.stop();
    reportFailures(ctx, failures);
    if (ctx.out.json) return ctx.out.printJson({ stream, segments: items, failures });
    if (items.length === 0) return ctx.out.notice(`no segments in stream ${stream}`);
    await ctx.out.table(
      ['ID', 'SIZE', 'MODIFIED', 'POOLS'],
      items.map((s) => [s.id, formatBytes(s.size), formatDate(s.modified), s.pools.join(',')]),
      ['right', 'right'],
    );
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
    .addHelpText('after', '\nExamples:\n  flux-storage ls\n  flux-storage ls cam1 --json | jq ".segments | length"')
    .action(program.action(ls));
}
