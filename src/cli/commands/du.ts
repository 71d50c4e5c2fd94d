// du [stream...]: bytes and objects per stream and per pool, with totals (src/segments/du.ts).

import type { CommandContext } from '../context.js';
import { EXIT } from '../exit-codes.js';
import { formatBytes } from '../output.js';
import type { Program } from '../program.js';

async function du(ctx: CommandContext, streams: string[], options: { pool?: string }): Promise<void> {
  const storage = await ctx.storage({ pool: options.pool });
  // A stream of the layout, or (variant layouts) the stream of a master playlist: `cam1` of `cam1/v0`.
  for (const stream of streams) storage.layout.groupPrefix(stream);
  const { diskUsage } = await import('../../segments/du.js');
  const progress = await ctx.out.progress('counting…', { lines: false });
  const report = await diskUsage(storage, { streams: streams.length === 0 ? undefined : streams, pool: options.pool }).finally(() => progress.stop());
  for (const failure of report.failures) ctx.out.error(`the counts are incomplete: ${failure.error.message}`);
  if (report.failures.length > 0) ctx.fail(EXIT.failed);
  if (ctx.out.json) return ctx.out.printJson({ ...report, failures: report.failures.map((f) => ({ pool: f.pool, error: f.error.toJSON() })) });
  const cell = (c: { objects: number; bytes: number }): string => (c.objects === 0 ? '-' : `${formatBytes(c.bytes)} (${c.objects})`);
  const row = (name: string, u: (typeof report)['totals']): string[] => [
    name,
    ...report.pools.map((p) => cell(u.pools[p]!)),
    cell(u.total),
    u.multiplyHeld.objects === 0 ? '-' : `${formatBytes(u.multiplyHeld.bytes)} (${u.multiplyHeld.objects}), +${formatBytes(u.multiplyHeld.extraBytes)} extra`,
  ];
  await ctx.out.table(
    ['STREAM', ...report.pools.map((p) => p.toUpperCase()), 'TOTAL', 'IN SEVERAL POOLS'],
    [...report.streams.map((s) => row(s.stream, s)), row('total', report.totals)],
    ['left', ...report.pools.map(() => 'right' as const), 'right', 'right'],
  );
}

export function registerDu(program: Program): void {
  program.command
    .command('du')
    .description('bytes and objects per stream and per pool; copies counted once in each pool, and what several pools hold shown as such')
    .argument('[stream...]', 'streams (default: every stream)')
    .option('--pool <name>', 'count this pool only')
    .addHelpText('after', '\nExamples:\n  flux-storage du\n  flux-storage du cam1 --json | jq .totals')
    .action(program.action(du));
}
