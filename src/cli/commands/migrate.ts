// migrate --from A --to B: copy segments and playlists between pools, verified, resumable by
// re-running, with progress on stderr (a percentage and an ETA once the total is known), failures
// grouped by cause, and a summary at the end (a plan, in a dry run). Ctrl-C finishes in-flight copies.

import { StorageError } from '../../errors.js';
import type { MigrateProgress, MigrateStage, MigrateSummary } from '../../migrate/migrate.js';
import { formatShard, parseShard, type Shard } from '../../segments/shard.js';
import type { CommandContext } from '../context.js';
import { EXIT } from '../exit-codes.js';
import { countOf, formatBytes } from '../output.js';
import type { Program } from '../program.js';
import { parseWholeNumber } from './cleanup.js';

interface MigrateCliOptions {
  from: string;
  to: string;
  stream?: string[];
  concurrency: number;
  deleteSource?: boolean;
  dryRun?: boolean;
  checksum?: boolean;
  sizeOnly?: boolean;
  shard?: string;
}

/** How the failures of each step are told, one line per cause: `192 objects not copied to cache: QuotaExceeded (...)`. */
const FAILURE_HEADS: Record<MigrateStage, (count: number, from: string, to: string) => string> = {
  list: (n, from) => `${countOf(n, 'listing')} of ${from} failed`,
  compare: (n, _from, to) => `${countOf(n, 'object')} not compared with the copy at ${to}`,
  read: (n, from) => `${countOf(n, 'object')} not read from ${from}`,
  write: (n, _from, to) => `${countOf(n, 'object')} not copied to ${to}`,
  verify: (n, _from, to) => `${countOf(n, 'copy', 'copies')} at ${to} not verified (their sources are kept)`,
  delete: (n, from, to) => `${countOf(n, 'object')} not deleted from ${from} (copied to ${to})`,
};

/** 75 s → "1 min 15 s"; whole seconds under a minute, whole minutes over an hour. */
export function formatEta(ms: number): string {
  const s = Math.max(0, Math.round(ms / 1000));
  if (s < 60) return `${s} s`;
  if (s < 3600) return `${Math.floor(s / 60)} min ${String(s % 60).padStart(2, '0')} s`;
  return `${Math.floor(s / 3600)} h ${String(Math.floor((s % 3600) / 60)).padStart(2, '0')} min`;
}

export function describeProgress(p: MigrateProgress): string {
  const rate = p.elapsedMs > 0 ? p.bytes / (p.elapsedMs / 1000) : 0;
  const counts = `(${p.copied} copied, ${p.skipped} skipped, ${p.deleted} deleted, ${p.failed} failed) · ${formatBytes(p.bytes)} · ${formatBytes(rate)}/s`;
  if (p.total === null) return `${p.processed}/${p.listed}+ done ${counts}`;
  // By bytes where there are any (a 10 MiB segment is more work than a playlist), else by objects.
  const [done, total] = p.total.bytes > 0 ? [p.processedBytes, p.total.bytes] : [p.processed, p.total.objects];
  const fraction = total > 0 ? Math.min(1, done / total) : 1;
  const eta = done > 0 && fraction < 1 ? ` · ETA ${formatEta((p.elapsedMs * (total - done)) / done)}` : '';
  return `${Math.floor(fraction * 100)}% · ${p.processed}/${Math.max(p.total.objects, p.processed)} done ${counts}${eta}`;
}

async function render(ctx: CommandContext, summary: MigrateSummary, from: string, to: string, shard: Shard | undefined): Promise<void> {
  const json = {
    from,
    to,
    ...(shard === undefined ? {} : { shard: formatShard(shard) }),
    dryRun: summary.dryRun,
    interrupted: summary.interrupted,
    planned: summary.planned,
    copied: summary.copied,
    skipped: summary.skipped,
    deleted: summary.deleted,
    failed: summary.failed,
    bytes: summary.bytes,
    durationMs: Math.round(summary.elapsedMs),
    bytesPerSecond: Math.round(summary.rate),
    ...(summary.plan === undefined ? {} : { plan: summary.plan }),
    unknownStreams: summary.unknownStreams,
    others: summary.others,
    temp: summary.temp,
    failures: summary.failures.map((f) => ({ key: f.key, stage: f.stage, error: f.error })),
  };
  for (const stage of Object.keys(FAILURE_HEADS) as MigrateStage[]) {
    const failed = summary.failures.filter((f) => f.stage === stage).map((f) => ({ item: f.key, error: f.error }));
    ctx.out.errorsByCause(failed, (count) => FAILURE_HEADS[stage](count, from, to));
  }
  if (ctx.out.json) return ctx.out.printJson(json);
  if (ctx.out.quiet && ctx.exitCode === EXIT.ok) return;
  if (summary.plan !== undefined && summary.plan.streams.length > 0) {
    await ctx.out.table(
      ['STREAM', 'WOULD COPY', 'BYTES', 'ALREADY THERE'],
      summary.plan.streams.map((p) => [p.stream, p.copy, formatBytes(p.copyBytes), p.skip]),
      ['left', 'right', 'right', 'right'],
    );
  }
  const title = summary.dryRun ? 'would copy' : 'copied';
  await ctx.out.table(
    ['FROM', 'TO', 'PLANNED', title.toUpperCase(), 'SKIPPED', 'DELETED', 'FAILED', 'BYTES', 'DURATION', 'RATE'],
    [[from, to, summary.planned, summary.copied, summary.skipped, summary.deleted, summary.failed, formatBytes(summary.bytes), `${(summary.elapsedMs / 1000).toFixed(1)} s`, `${formatBytes(summary.rate)}/s`]],
    ['left', 'left', 'right', 'right', 'right', 'right', 'right', 'right', 'right', 'right'],
  );
  if (summary.temp.count > 0) {
    ctx.out.notice(
      `${countOf(summary.temp.count, 'temporary file')} of a producer (*.tmp, *.bak, *.part; ${formatBytes(summary.temp.bytes)}) ${summary.dryRun ? 'would not be' : 'were not'} copied: they are still being written (--json lists them)`,
    );
  }
  if (summary.dryRun) ctx.out.notice('dry run: nothing was copied or deleted (--json lists the keys that would be copied)');
  if (summary.interrupted) ctx.out.notice('interrupted: copies in flight were stopped, and no source of an unproven copy was deleted; re-run the same command to complete the migration');
}

async function migrateCommand(ctx: CommandContext, options: MigrateCliOptions): Promise<void> {
  const streams = options.stream;
  if (options.concurrency < 1) throw new StorageError('InvalidArgument', '--concurrency must be 1 or more');
  if (options.from === options.to) throw new StorageError('InvalidArgument', `--from and --to are the same pool "${options.from}"`);
  const shard = options.shard === undefined ? undefined : parseShard(options.shard);
  const storage = await ctx.storage({ pools: [options.from, options.to] });
  // Stream names by the layout: `app/stream` (SRS), `stream/variant` (variant layouts), or a
  // variant layout's `stream` (its master playlist and every variant).
  streams?.forEach((stream) => storage.layout.groupPrefix(stream));
  // Imported here, not at the top: every other command (and --help) starts faster without it.
  const { migrate } = await import('../../migrate/migrate.js');
  ctx.io.claimInterrupts?.();
  const label = `migrating ${options.from} → ${options.to}${shard === undefined ? '' : ` (shard ${formatShard(shard)})`}`;
  const progress = await ctx.out.progress(`${label}…`);
  let summary: MigrateSummary;
  try {
    summary = await migrate({
      from: storage.manager.pool(options.from),
      to: storage.manager.pool(options.to),
      layout: storage.layout,
      streams,
      shard,
      concurrency: options.concurrency,
      deleteSource: options.deleteSource === true,
      dryRun: options.dryRun === true,
      checksum: options.checksum === true,
      sizeOnly: options.sizeOnly === true,
      keepPlannedKeys: ctx.out.json,
      signal: ctx.io.signal,
      onProgress: ctx.out.quiet ? undefined : (p) => progress.update(`${label}: ${describeProgress(p)}`),
    });
  } finally {
    progress.stop();
  }
  if (summary.failed > 0) ctx.fail(EXIT.failed);
  if (summary.interrupted) ctx.fail(EXIT.interrupted);
  for (const stream of summary.unknownStreams) {
    ctx.out.error(`stream ${JSON.stringify(stream)}: pool "${options.from}" holds nothing of it (check the name with "flux-storage ls --pool ${options.from}")`);
    ctx.fail(EXIT.notFound);
  }
  await render(ctx, summary, options.from, options.to, shard);
}

export function registerMigrate(program: Program): void {
  program.command
    .command('migrate')
    .description('copy segments and playlists from one pool to another, verified; re-run to resume')
    .requiredOption('--from <pool>', 'source pool')
    .requiredOption('--to <pool>', 'destination pool')
    .option('--stream <name...>', 'only these streams (default: every object under the layout prefix); with variants, a stream name takes its master and every variant')
    .option('--concurrency <n>', 'objects copied at once', parseWholeNumber, 16)
    .option('--delete-source', 'delete each source object once its copy is proven to hold the same bytes')
    .option('--dry-run', 'list and compare only; copy and delete nothing (--json lists the keys)')
    .option('--checksum', 'also read back every copy and compare it with the bytes read')
    .option('--size-only', 'treat an object of the same size at the destination as copied, without comparing content (not with --delete-source)')
    .option('--shard <K/N>', 'only the streams whose name hashes to shard K of N (1/4 ... 4/4): N workers share one migration')
    .addHelpText(
      'after',
      `
An object is skipped only when the destination holds the same bytes (same md5, or the same content
read from both sides), so an interrupted run is finished by running it again. With --delete-source
a source object is deleted only once its copy is proven identical. Two pools that reach one store
are refused (exit 2). Ctrl-C (or SIGTERM, SIGHUP) stops the copies in flight, prints the summary, and exits 130; re-run to finish.

Examples:
  flux-storage migrate --from ssd --to s3 --dry-run
  flux-storage migrate --from ssd --to s3 --concurrency 32 --delete-source
  flux-storage migrate --from ssd --to s3 --shard 2/4     # the second of four workers`,
    )
    .action(program.action(migrateCommand));
}
