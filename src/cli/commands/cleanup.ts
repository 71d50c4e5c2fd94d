// cleanup --keep N: retention across every pool (or --pool), safe to run from cron on several hosts.

import { InvalidArgumentError } from '../commander.js';
import type ms from 'ms';
import { requireCommonJs } from '../../commonjs.js';
import { StorageError } from '../../errors.js';
import { assertStreamName } from '../../segments/layout.js';
import type { RetentionPlan, RetentionResult } from '../../segments/retention.js';
import type { CommandContext } from '../context.js';
import { EXIT } from '../exit-codes.js';
import type { Program } from '../program.js';

interface CleanupOptions {
  keep: number;
  all?: boolean;
  dryRun?: boolean;
  maxDelete?: number;
  pool?: string;
  minAge?: number;
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
    groups.set(key, [...(groups.get(key) ?? []), p.id]);
  }
  return groups;
}

/** Sorted ids as ranges: 1-5, 8, 10-12. */
export function idRanges(ids: readonly number[]): string {
  const parts: string[] = [];
  for (let i = 0; i < ids.length; ) {
    let j = i;
    while (j + 1 < ids.length && ids[j + 1] === ids[j]! + 1) j++;
    parts.push(j === i ? `${ids[i]}` : `${ids[i]}-${ids[j]}`);
    i = j + 1;
  }
  return parts.join(', ');
}

async function render(ctx: CommandContext, plan: RetentionPlan, result: RetentionResult | undefined, dryRun: boolean): Promise<void> {
  const streams = (result?.streams ?? plan.streams.map((s) => ({ ...s, deleted: [], failed: [] }))).map((s) => ({
    stream: s.stream,
    kept: s.kept.length,
    protected: s.protected.length,
    deleted: dryRun ? 0 : s.deleted.length,
    planned: s.delete.map((d) => ({ id: d.id, pools: d.pools })),
    deletedIds: s.deleted.map((d) => d.id),
    failed: s.failed.map((f) => ({ id: f.id, pool: f.pool, error: f.error })),
    listingFailed: s.failures,
    keptIds: s.kept,
    protectedIds: s.protected,
  }));
  for (const f of plan.failures) ctx.out.error(`listing failed, nothing deleted for the streams it holds: ${f.error.message}`);
  for (const s of streams) for (const f of s.listingFailed) if (!plan.failures.includes(f)) ctx.out.error(`stream ${s.stream}: nothing deleted: ${f.error.message}`);
  for (const s of streams) for (const f of s.failed) ctx.out.error(`stream ${s.stream}: segment ${f.id} not deleted from ${f.pool}: ${f.error.message}`);
  if (ctx.out.json) {
    return ctx.out.printJson({
      dryRun,
      streams: streams.map((s) => ({
        stream: s.stream,
        kept: s.keptIds,
        protected: s.protectedIds,
        ...(dryRun ? { planned: s.planned } : { deleted: s.deletedIds }),
        failed: s.failed,
        listingFailed: s.listingFailed,
      })),
      failures: plan.failures,
    });
  }
  const trouble = ctx.exitCode !== EXIT.ok;
  if (ctx.out.quiet && !trouble) return;
  if (dryRun) {
    for (const s of streams) {
      for (const [pools, ids] of groupByPools(s.planned)) ctx.out.print(`would delete ${s.stream} segments ${idRanges(ids)} from ${pools}`);
    }
  }
  await ctx.out.table(
    ['STREAM', 'KEPT', 'PROTECTED', dryRun ? 'WOULD DELETE' : 'DELETED', 'FAILED'],
    streams.map((s) => [s.stream, s.kept, s.protected, dryRun ? s.planned.length : s.deleted, s.failed.length + (s.listingFailed.length > 0 ? s.listingFailed.length : 0)]),
    ['left', 'right', 'right', 'right', 'right'],
  );
}

async function cleanup(ctx: CommandContext, streams: string[], options: CleanupOptions): Promise<void> {
  if ((streams.length === 0) === (options.all !== true)) {
    throw new StorageError('InvalidArgument', streams.length === 0 ? 'name the streams to clean, or give --all for every stream' : 'give either stream names or --all, not both');
  }
  streams.forEach(assertStreamName);
  const storage = await ctx.storage({ pool: options.pool });
  // Imported here, not at the top: every other command (and --help) starts faster without it.
  const { executeRetention, planRetention } = await import('../../segments/retention.js');
  const plan = await planRetention(storage, {
    keepNewest: options.keep,
    streams: options.all === true ? undefined : streams,
    pool: options.pool,
    minAgeMs: options.minAge,
  });
  const unsure = plan.failures.length > 0 || plan.streams.some((s) => s.failures.length > 0);
  if (unsure) ctx.fail(EXIT.failed);
  if (options.maxDelete !== undefined && plan.deleteCount > options.maxDelete) {
    ctx.fail(EXIT.failed);
    throw new StorageError('QuotaExceeded', `the plan deletes ${plan.deleteCount} segments, more than --max-delete ${options.maxDelete}: nothing was deleted (check with --dry-run)`);
  }
  if (options.dryRun === true) return await render(ctx, plan, undefined, true);
  const result = await executeRetention(storage, plan);
  if (result.streams.some((s) => s.failed.length > 0)) ctx.fail(EXIT.failed);
  await render(ctx, plan, result, false);
}

export function registerCleanup(program: Program): void {
  program.command
    .command('cleanup')
    .description('keep the newest N segments per stream (and all a playlist may still serve); delete the rest from every pool')
    .argument('[stream...]', 'streams to clean (or --all)')
    .requiredOption('--keep <n>', 'segments to keep per stream, newest ids first', parseWholeNumber)
    .option('--all', 'clean every stream')
    .option('--dry-run', 'print the exact plan and delete nothing')
    .option('--max-delete <n>', 'refuse the whole run if it would delete more than n segments', parseWholeNumber)
    .option('--min-age <duration>', 'never delete a segment modified more recently (90s, 10m, 2h)', parseDuration)
    .option('--pool <name>', 'clean this pool only')
    .addHelpText(
      'after',
      `
Segments named by the stream's playlist, and as many just before its first entry, are never deleted.
Nothing is deleted for a stream when any pool's listing of it fails (exit 1).

Examples:
  flux-storage cleanup --all --keep 30 --dry-run
  */5 * * * * flux-storage -c /etc/flux/storage.config.json cleanup --all --keep 30 --min-age 10m --max-delete 5000 --quiet`,
    )
    .action(program.action(cleanup));
}
