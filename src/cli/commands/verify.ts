// verify [stream...]: is each stream intact and playable from where it is (src/segments/verify.ts).
// Exit 0 when nothing is found, 1 when something is (or a pool could not be read), 2 for usage.

import { StorageError } from '../../errors.js';
import type { CommandContext } from '../context.js';
import { EXIT } from '../exit-codes.js';
import { countOf } from '../output.js';
import type { Program } from '../program.js';

interface VerifyOptions {
  all?: boolean;
  pool?: string;
  deep?: boolean;
}

/** Ids as short ranges: 3-7, 9, 12-13 (at most `most` ranges, then "and N more"). */
export function idRanges(ids: readonly number[], most = 8): string {
  const ranges: string[] = [];
  let i = 0;
  for (; i < ids.length && ranges.length < most; ) {
    let j = i;
    while (j + 1 < ids.length && ids[j + 1] === ids[j]! + 1) j++;
    ranges.push(i === j ? `${ids[i]}` : `${ids[i]}-${ids[j]}`);
    i = j + 1;
  }
  return i < ids.length ? `${ranges.join(', ')} and ${ids.length - i} more` : ranges.join(', ');
}

async function verify(ctx: CommandContext, streams: string[], options: VerifyOptions): Promise<void> {
  if (streams.length === 0 && options.all !== true) throw new StorageError('InvalidArgument', 'name the streams to verify, or give --all');
  if (streams.length > 0 && options.all === true) throw new StorageError('InvalidArgument', 'give stream names or --all, not both');
  const storage = await ctx.storage({ pool: options.pool });
  // A stream of the layout, or (variant layouts) the stream of a master playlist: `cam1` of `cam1/v0`.
  for (const stream of streams) storage.layout.groupPrefix(stream);
  const { verifyStreams } = await import('../../segments/verify.js');
  const progress = await ctx.out.progress('verifying…');
  let reports;
  try {
    reports = await verifyStreams(storage, {
      streams: streams.length === 0 ? undefined : streams,
      pool: options.pool,
      deep: options.deep === true,
      signal: ctx.io.signal,
      onProgress: (done, total) => progress.update(`verifying… ${done}/${total} segments`),
    });
  } finally {
    progress.stop();
  }
  const findings = reports.reduce((n, r) => n + r.findings.length, 0);
  const failures = reports.flatMap((r) => r.failures);
  if (findings > 0 || failures.length > 0) ctx.fail(EXIT.failed);
  if (ctx.io.signal?.aborted === true) ctx.fail(EXIT.interrupted);
  ctx.out.errorsByCause(failures.map((f) => ({ item: f.error.key ?? f.pool, error: f.error })), (count, pool) => `${countOf(count, 'listing')}${pool === undefined ? '' : ` of ${pool}`} could not be read, so the report is incomplete`);
  if (ctx.out.json) return ctx.out.printJson({ streams: reports.map((r) => ({ ...r, failures: r.failures.map((f) => ({ pool: f.pool, error: f.error.toJSON() })) })), findings });
  const rows = reports.flatMap((r) =>
    r.findings.map((f) => [r.stream, f.kind, [f.ids === undefined ? '' : `ids ${idRanges(f.ids)}`, f.pools === undefined ? '' : `pools ${f.pools.join(',')}`, f.detail].filter((s) => s !== '').join('; ')]),
  );
  if (rows.length > 0) await ctx.out.table(['STREAM', 'FINDING', 'DETAIL'], rows);
  if (!ctx.out.quiet) ctx.out.notice(`${countOf(reports.length, 'stream')} verified, ${countOf(reports.reduce((n, r) => n + r.segments, 0), 'segment')}: ${findings === 0 ? 'nothing found' : countOf(findings, 'finding')}`);
}

export function registerVerify(program: Program): void {
  program.command
    .command('verify')
    .description('check that streams are intact and playable: playlist entries held, no gaps, no differing copies, real MPEG-TS/fMP4')
    .argument('[stream...]', 'streams to check')
    .option('--all', 'every stream')
    .option('--pool <name>', 'check this pool only')
    .option('--deep', 'read every segment whole and check timestamp continuity across segments')
    .addHelpText('after', '\nExit codes: 0 nothing found, 1 findings (or a pool could not be read), 2 usage error.\nExamples:\n  flux-storage verify cam1\n  flux-storage verify --all --json | jq ".streams[].findings[].kind"')
    .action(program.action(verify));
}
