// migrate --from A --to B: copy segments and playlists between pools, verified, resumable by
// re-running, with progress on stderr and a summary at the end. Ctrl-C finishes in-flight copies.

import { StorageError } from '../../errors.js';
import type { MigrateProgress, MigrateSummary } from '../../migrate/migrate.js';
import { assertStreamName } from '../../segments/layout.js';
import type { CommandContext } from '../context.js';
import { EXIT } from '../exit-codes.js';
import { formatBytes } from '../output.js';
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
}

function describeProgress(p: MigrateProgress): string {
  const rate = p.elapsedMs > 0 ? p.bytes / (p.elapsedMs / 1000) : 0;
  const total = p.listingDone ? `${p.listed}` : `${p.listed}+`;
  return `${p.copied + p.skipped}/${total} done (${p.copied} copied, ${p.skipped} skipped, ${p.deleted} deleted, ${p.failed} failed) · ${formatBytes(p.bytes)} · ${formatBytes(rate)}/s`;
}

async function render(ctx: CommandContext, summary: MigrateSummary, from: string, to: string): Promise<void> {
  const json = {
    from,
    to,
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
    failures: summary.failures.map((f) => ({ key: f.key, stage: f.stage, error: f.error })),
  };
  for (const f of summary.failures) ctx.out.error(`${f.stage} failed for ${f.key}: ${f.error.message}`);
  if (ctx.out.json) return ctx.out.printJson(json);
  if (ctx.out.quiet && ctx.exitCode === EXIT.ok) return;
  const title = summary.dryRun ? 'would copy' : 'copied';
  await ctx.out.table(
    ['FROM', 'TO', 'PLANNED', title.toUpperCase(), 'SKIPPED', 'DELETED', 'FAILED', 'BYTES', 'DURATION', 'RATE'],
    [[from, to, summary.planned, summary.copied, summary.skipped, summary.deleted, summary.failed, formatBytes(summary.bytes), `${(summary.elapsedMs / 1000).toFixed(1)} s`, `${formatBytes(summary.rate)}/s`]],
    ['left', 'left', 'right', 'right', 'right', 'right', 'right', 'right', 'right', 'right'],
  );
  if (summary.interrupted) ctx.out.notice('interrupted: in-flight copies finished; re-run the same command to complete the migration');
}

async function migrateCommand(ctx: CommandContext, options: MigrateCliOptions): Promise<void> {
  const streams = options.stream;
  streams?.forEach(assertStreamName);
  if (options.concurrency < 1) throw new StorageError('InvalidArgument', '--concurrency must be 1 or more');
  if (options.from === options.to) throw new StorageError('InvalidArgument', `--from and --to are the same pool "${options.from}"`);
  const storage = await ctx.storage({ pools: [options.from, options.to] });
  // Imported here, not at the top: every other command (and --help) starts faster without it.
  const { migrate } = await import('../../migrate/migrate.js');
  ctx.io.claimInterrupts?.();
  const progress = await ctx.out.progress(`migrating ${options.from} → ${options.to}…`);
  let summary: MigrateSummary;
  try {
    summary = await migrate({
      from: storage.manager.pool(options.from),
      to: storage.manager.pool(options.to),
      layout: storage.layout,
      streams,
      concurrency: options.concurrency,
      deleteSource: options.deleteSource === true,
      dryRun: options.dryRun === true,
      checksum: options.checksum === true,
      signal: ctx.io.signal,
      onProgress: (p) => progress.update(`migrating ${options.from} → ${options.to}: ${describeProgress(p)}`),
    });
  } finally {
    progress.stop();
  }
  if (summary.failed > 0) ctx.fail(EXIT.failed);
  if (summary.interrupted) ctx.fail(EXIT.interrupted);
  await render(ctx, summary, options.from, options.to);
}

export function registerMigrate(program: Program): void {
  program.command
    .command('migrate')
    .description('copy segments and playlists from one pool to another, verified; re-run to resume')
    .requiredOption('--from <pool>', 'source pool')
    .requiredOption('--to <pool>', 'destination pool')
    .option('--stream <name...>', 'only these streams (default: every object under the layout prefix)')
    .option('--concurrency <n>', 'objects copied at once', parseWholeNumber, 16)
    .option('--delete-source', 'delete each source object once its copy is verified')
    .option('--dry-run', 'list and compare only; copy and delete nothing')
    .option('--checksum', 'compare content (md5), not only size, and read back every copy')
    .addHelpText(
      'after',
      `
Objects already at the destination with the same size (and md5, with --checksum) are skipped, so an
interrupted run is finished by running it again. Ctrl-C lets in-flight copies finish, then exits 130.

Examples:
  flux-storage migrate --from ssd --to s3 --dry-run
  flux-storage migrate --from ssd --to s3 --concurrency 32 --delete-source`,
    )
    .action(program.action(migrateCommand));
}
