// purge <stream...>: removes everything of retired streams from every pool (SegmentStorage.purgeStreams).

import type { StreamDeletion } from '../../segments/segment-storage.js';
import type { CommandContext } from '../context.js';
import { EXIT } from '../exit-codes.js';
import { countOf, formatBytes } from '../output.js';
import type { Program } from '../program.js';
import { idRanges, parseWholeNumber } from './cleanup.js';

interface PurgeOptions {
  dryRun?: boolean;
  maxDelete?: number;
  pool?: string;
}

/** "120 segments (0-119), 1 playlist, 2 other files": what a stream holds, for people. */
function describeObjects(objects: StreamDeletion['objects']): string {
  const ids = objects.flatMap((o) => (o.id === null ? [] : [o.id]));
  const parts = [ids.length > 0 ? `${countOf(ids.length, 'segment')} (${idRanges(ids)})` : ''];
  for (const kind of ['master', 'playlist', 'init', 'temp', 'other'] as const) {
    const count = objects.filter((o) => o.kind === kind).length;
    const noun = kind === 'master' ? 'master playlist' : kind === 'init' ? 'init file' : kind === 'temp' ? 'temporary file' : kind === 'other' ? 'other file' : kind;
    if (count > 0) parts.push(countOf(count, noun));
  }
  return parts.filter((p) => p !== '').join(', ');
}

async function purge(ctx: CommandContext, streams: string[], options: PurgeOptions): Promise<void> {
  const storage = await ctx.storage({ pool: options.pool });
  const dryRun = options.dryRun === true;
  const results = await storage.purgeStreams(streams, { dryRun, ...(options.pool === undefined ? {} : { pool: options.pool }), ...(options.maxDelete === undefined ? {} : { maxDelete: options.maxDelete }) });
  for (const r of results) {
    for (const f of r.failures) ctx.out.error(`stream ${r.stream}: listing failed, its objects there were not deleted: ${f.error.message}`);
    if (r.failures.length > 0) ctx.fail(EXIT.failed);
    if (r.objects.length === 0 && r.failures.length === 0) {
      ctx.fail(EXIT.notFound);
      ctx.out.error(`stream ${r.stream}: no pool holds anything of it`);
    }
    if (r.failed.length > 0) ctx.fail(EXIT.failed);
    ctx.out.errorsByCause(r.failed.map((f) => ({ item: f.key, error: f.error })), (count, pool) => `${countOf(count, 'object')} of ${r.stream} not deleted${pool === undefined ? '' : ` from ${pool}`}`);
  }
  if (ctx.out.json) {
    return ctx.out.printJson({
      dryRun,
      streams: results.map((r) => ({
        stream: r.stream,
        found: r.objects.length > 0,
        ...(dryRun ? { planned: r.objects } : { deleted: r.deleted.map((o) => o.key) }),
        failed: r.failed.map(({ key, pool, error }) => ({ key, pool, error })),
        listingFailed: r.failures,
      })),
    });
  }
  if (ctx.out.quiet && ctx.exitCode === EXIT.ok) return;
  for (const r of results) {
    if (r.objects.length === 0) continue;
    const pools = [...new Set(r.objects.flatMap((o) => o.pools))].join(', ');
    ctx.out.print(`${dryRun ? 'would delete' : 'deleted'} ${r.stream}: ${describeObjects(dryRun ? r.objects : r.deleted)} from ${pools}`);
  }
  await ctx.out.table(
    ['STREAM', 'OBJECTS', 'BYTES', dryRun ? 'WOULD DELETE' : 'DELETED', 'FAILED'],
    results.map((r) => [r.stream, r.objects.length, formatBytes(r.objects.reduce((n, o) => n + o.size, 0)), dryRun ? r.objects.length : r.deleted.length, r.failed.length]),
    ['left', 'right', 'right', 'right', 'right'],
  );
}

export function registerPurge(program: Program): void {
  program.command
    .command('purge')
    .description('delete everything of retired streams (segments, playlists, init and other files) from every pool')
    .argument('<stream...>', 'streams to remove')
    .option('-n, --dry-run', 'print what would be deleted and delete nothing')
    .option('--max-delete <n>', 'refuse the whole run if it would delete more than n objects', parseWholeNumber)
    .option('--pool <name>', 'delete from this pool only')
    .addHelpText(
      'after',
      `
Playlists are deleted first, so no player is sent to a segment that is going. Exit 3 when a stream
exists in no pool; exit 1 when a listing or a delete failed (re-run to finish).

Examples:
  flux-storage purge cam7 --dry-run
  flux-storage purge cam7 cam8 --max-delete 100000`,
    )
    .action(program.action(purge));
}
