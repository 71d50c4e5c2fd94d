// put <stream> <file...>: stores segments (and a playlist file named like the layout's playlist).

import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { InvalidArgumentError } from '../commander.js';
import { StorageError } from '../../errors.js';
import { assertStreamName, parseSegmentId } from '../../segments/layout.js';
import type { CommandContext } from '../context.js';
import { EXIT, exitCodeFor } from '../exit-codes.js';
import { countOf, formatBytes } from '../output.js';
import type { Program } from '../program.js';

interface PutOptions {
  id?: string;
  pool?: string;
}

/** The segment id in a file name: `segment_<n>.ts`, or else the last number in the name. */
export function idFromFileName(file: string): number | undefined {
  const base = path.basename(file);
  const match = /^segment_(\d+)\.ts$/.exec(base) ?? /(\d+)(?!.*\d)/.exec(base);
  return match?.[1] === undefined ? undefined : parseSegmentId(match[1]);
}

/** Segments stored at once by one put. */
const PUT_CONCURRENCY = 8;

interface PutItem {
  file: string;
  kind: 'segment' | 'playlist';
  id: number | null;
}

async function readInput(ctx: CommandContext, file: string): Promise<Buffer> {
  if (file !== '-') return readFile(path.resolve(ctx.io.cwd, file));
  const chunks: Buffer[] = [];
  for await (const chunk of ctx.io.stdin) chunks.push(Buffer.from(chunk as Uint8Array));
  return Buffer.concat(chunks);
}

async function put(ctx: CommandContext, stream: string, files: string[], options: PutOptions): Promise<void> {
  assertStreamName(stream);
  if (options.id !== undefined && files.length !== 1) {
    throw new StorageError('InvalidArgument', '--id names the id of a single file (or of "-" for stdin): give one file');
  }
  if (files.includes('-') && options.id === undefined) {
    throw new StorageError('InvalidArgument', 'reading a segment from stdin ("-") needs --id <n>');
  }
  const storage = await ctx.storage({ pool: options.pool });
  // Every name is checked before anything is written, so a bad one changes nothing.
  const items: PutItem[] = files.map((file) => {
    if (options.id !== undefined) return { file, kind: 'segment', id: parseSegmentId(options.id) };
    if (path.basename(file) === storage.layout.playlist) return { file, kind: 'playlist', id: null };
    const id = idFromFileName(file);
    if (id === undefined) throw new StorageError('InvalidArgument', `no segment id in the file name ${JSON.stringify(file)}: name it segment_<n>.ts or give --id <n>`);
    return { file, kind: 'segment', id };
  });
  const missing = files.find((file) => file !== '-' && !existsSync(path.resolve(ctx.io.cwd, file)));
  if (missing !== undefined) throw new StorageError('InvalidArgument', `no such file: ${missing}`);
  // Segments go up several at a time; playlists after every segment, so that a playlist never
  // names a segment that is not stored yet. Results keep the order of the command line.
  const { default: pLimit } = await import('p-limit');
  const limit = pLimit(PUT_CONCURRENCY);
  const warnedSkips = new Set<string>();
  const store = (item: PutItem) => limit(async () => {
    try {
      const data = await readInput(ctx, item.file).catch((error: unknown) => {
        throw new StorageError('InvalidArgument', `cannot read ${item.file}: ${(error as Error).message}`, { cause: error });
      });
      const saved =
        item.kind === 'playlist'
          ? await storage.savePlaylist(stream, data.toString('utf8'), options)
          : await storage.save(stream, item.id!, data, options);
      for (const failure of saved.failedOver) ctx.out.warn(`${failure.pool} refused the write, used the next pool: ${failure.error.message}`);
      // Once per pool and reason for the whole put; a read-only pool is skipped by its config, no news.
      for (const skip of saved.skipped) {
        if (skip.reason === 'read-only' || warnedSkips.has(`${skip.pool}\0${skip.reason}`)) continue;
        warnedSkips.add(`${skip.pool}\0${skip.reason}`);
        ctx.out.warn(`skipped pool "${skip.pool}": ${skip.detail}`);
      }
      for (const stale of saved.staleCopies) ctx.out.warn(`${stale.error.message}; until it is removed (rm with --pool ${stale.pool}), a read may return the older bytes`);
      return { file: item.file, stream, id: item.id, key: saved.key, pool: saved.pool, size: data.length, failedOver: saved.failedOver, error: null };
    } catch (error) {
      ctx.fail(exitCodeFor(error) === EXIT.usage ? EXIT.usage : EXIT.failed);
      return { file: item.file, stream, id: item.id, key: null, pool: null, size: null, failedOver: [], error };
    }
  });
  const stored = new Map<PutItem, Awaited<ReturnType<typeof store>>>();
  for (const kind of ['segment', 'playlist'] as const) {
    await Promise.all(items.filter((item) => item.kind === kind).map(async (item) => stored.set(item, await store(item))));
  }
  const results = items.map((item) => stored.get(item)!);
  ctx.out.errorsByCause(results.filter((r) => r.error !== null).map((r) => ({ item: r.file, error: r.error })), (count, pool) => `${countOf(count, 'file')} not stored${pool === undefined ? '' : ` in ${pool}`}`);
  if (ctx.out.json) return ctx.out.printJson({ segments: results });
  if (ctx.out.quiet) return;
  await ctx.out.table(
    ['ID', 'POOL', 'SIZE', 'FILE'],
    results.filter((r) => r.error === null).map((r) => [r.id ?? 'playlist', r.pool ?? '-', formatBytes(r.size), r.file]),
    ['right', 'left', 'right'],
  );
}

export function registerPut(program: Program): void {
  program.command
    .command('put')
    .description('store segment files; the id comes from the name (segment_<n>.ts, or its last number)')
    .argument('<stream>', 'stream name')
    .argument('<file...>', 'segment files, or - for stdin with --id')
    .option('--id <n>', 'segment id for a single file or stdin', (value: string) => {
      if (!/^\d+$/.test(value)) throw new InvalidArgumentError('must be a whole number, 0 or more');
      return value;
    })
    .option('--pool <name>', 'write to this pool only, with no failover')
    .addHelpText('after', '\nExamples:\n  flux-storage put cam1 segment_1.ts segment_2.ts\n  ffmpeg ... | flux-storage put cam1 - --id 42')
    .action(program.action(put));
}
