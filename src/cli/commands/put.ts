// put <stream> <file...>: stores segments (and a playlist file named like the layout's playlist).
// Every input is checked before anything is written (exit 2 then means nothing was stored); the
// batching and the playlist-last order are SegmentStorage.saveMany's.

import { constants, createReadStream } from 'node:fs';
import { open, stat } from 'node:fs/promises';
import path from 'node:path';
import { InvalidArgumentError } from '../commander.js';
import { StorageError } from '../../errors.js';
import { assertWritable } from '../../pool/policy.js';
import { parseSegmentId, type SegmentLayout } from '../../segments/layout.js';
import type { SaveItem, SaveResult } from '../../segments/segment-storage.js';
import type { CommandContext } from '../context.js';
import { EXIT, exitCodeFor } from '../exit-codes.js';
import { countOf, formatBytes, formatCount } from '../output.js';
import type { Program } from '../program.js';

interface PutOptions {
  id?: string;
  pool?: string;
  allowEmpty?: boolean;
}

/** The segment id in a file name: `segment_<n>.ts`, or else the last number in the name. */
export function idFromFileName(file: string): number | undefined {
  const base = path.basename(file);
  const match = /^segment_(\d+)\.ts$/.exec(base) ?? /(\d+)(?!.*\d)/.exec(base);
  return match?.[1] === undefined ? undefined : parseSegmentId(match[1]);
}

/** Segments stored at once by one put. */
const PUT_CONCURRENCY = 8;

/** An input named on the command line, with what it is; `stem` for layouts with a free stem (ffmpeg). */
type NamedInput = { file: string; stem?: string | undefined; renamed?: boolean } & ({ kind: 'segment'; id: number } | { kind: 'playlist' | 'init' });
type PutItem = NamedInput & { data: SaveItem['data'] };

const refuse = (detail: string, cause?: unknown): StorageError => new StorageError('InvalidArgument', `${detail}: nothing was stored`, cause === undefined ? {} : { cause });

/**
 * All of `source`, refused once it passes `max` bytes: reading stops there, so an endless pipe
 * (`yes | flux-storage put ...`) ends with an error instead of filling memory.
 */
async function readAtMost(source: AsyncIterable<unknown>, max: number, name: string): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let total = 0;
  for await (const chunk of source) {
    const bytes = Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk as Uint8Array);
    total += bytes.length;
    if (total > max) throw tooLarge(name, max, `more than ${formatBytes(max)}`);
    chunks.push(bytes);
  }
  return chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, total);
}

function tooLarge(name: string, max: number, size: string): StorageError {
  return refuse(`${name} is ${size}, larger than maxSegmentBytes (${formatBytes(max)}; set it in the config to store larger segments)`);
}

function refuseEmpty(name: string, data: Uint8Array, allowEmpty: boolean): Uint8Array {
  if (data.byteLength === 0 && !allowEmpty) throw refuse(`${name} is empty (0 bytes; did its producer die?); give --allow-empty to store it anyway`);
  return data;
}

/**
 * Checks one input before anything is written and says how to read it: a regular file is stat'ed
 * and opened now and read when its turn comes; stdin, a pipe or a device is read now (it can be
 * read only once, and its size is known only then).
 */
async function checkInput(ctx: CommandContext, file: string, max: number, allowEmpty: boolean): Promise<SaveItem['data']> {
  if (file === '-') return refuseEmpty('stdin', await readAtMost(ctx.io.stdin, max, 'stdin'), allowEmpty);
  const full = path.resolve(ctx.io.cwd, file);
  const info = await stat(full).catch((error: unknown) => {
    throw unreadable(file, error);
  });
  if (info.isDirectory()) throw refuse(`${file} is a directory: give segment files`);
  if (info.isFile()) {
    if (info.size > max) throw tooLarge(file, max, formatBytes(info.size));
    refuseEmpty(file, new Uint8Array(info.size === 0 ? 0 : 1), allowEmpty);
  }
  // Opened once now, so that an unreadable file is refused before anything is written. O_NONBLOCK:
  // opening a FIFO whose writer is not there yet must not hang.
  const handle = await open(full, constants.O_RDONLY | constants.O_NONBLOCK).catch((error: unknown) => {
    throw unreadable(file, error);
  });
  await handle.close();
  if (!info.isFile()) return refuseEmpty(file, await readAtMost(createReadStream(full), max, file), allowEmpty);
  return async () => refuseEmpty(file, await readAtMost(createReadStream(full, { highWaterMark: 1024 * 1024 }), max, file), allowEmpty);
}

function unreadable(file: string, error: unknown): StorageError {
  const code = (error as { code?: string }).code;
  if (code === 'ENOENT') return refuse(`no such file: ${file}`, error);
  if (code === 'EACCES' || code === 'EPERM') return refuse(`cannot read ${file}: permission denied`, error);
  return refuse(`cannot read ${file} (${code ?? (error as Error).message})`, error);
}

/**
 * What each input is, by its name: a name the layout gives a file of this stream keeps its kind,
 * id and stem (so a playlist put beside it still names it); any other `.m3u8` is the playlist, an
 * `init` `.mp4` the init file, and a segment's id is the last number of its name. Under a free stem
 * those take the stem of the playlist put with them, or the layout's default, and say so.
 */
function nameInputs(ctx: CommandContext, layout: SegmentLayout, stream: string, files: readonly string[], id: string | undefined): NamedInput[] {
  const fitted = files.map((file) => (file === '-' ? undefined : layout.fileNamed(stream, path.basename(file))));
  const playlistStem = fitted.find((fit) => fit?.kind === 'playlist')?.stem;
  const stem = playlistStem ?? layout.defaultStem();
  const named = files.map((file, index): NamedInput => {
    const fit = fitted[index];
    const base = path.basename(file);
    if (id !== undefined) return fit?.kind === 'segment' ? { file, kind: 'segment', id: parseSegmentId(id), stem: fit.stem } : { file, kind: 'segment', id: parseSegmentId(id), stem, renamed: true };
    if (fit?.kind === 'segment') return { file, kind: 'segment', id: fit.id!, stem: fit.stem };
    if (fit?.kind === 'playlist' || fit?.kind === 'init') return { file, kind: fit.kind, stem: fit.stem };
    if (fit?.kind === 'master') throw refuse(`${file} is a master playlist: put stores a stream's segments, playlist and init file`);
    if (base === layout.playlist || base.endsWith('.m3u8')) return { file, kind: 'playlist', stem, renamed: true };
    if (layout.hasInit && /init/i.test(base) && /\.(mp4|m4s)$/.test(base)) return { file, kind: 'init', stem, renamed: true };
    const number = idFromFileName(file);
    if (number === undefined) throw new StorageError('InvalidArgument', `no segment id in the file name ${JSON.stringify(file)}: name it as the layout does (${layout.segmentKey(stream, 1, stem)}) or give --id <n>`);
    return { file, kind: 'segment', id: number, stem, renamed: true };
  });
  const renamed = named.filter((item) => item.renamed === true);
  if (layout.hasStem && renamed.length > 0) {
    const example = renamed[0]!;
    const key = example.kind === 'segment' ? layout.segmentKey(stream, example.id, stem) : example.kind === 'init' ? layout.initKey(stream, stem) : layout.playlistKey(stream, stem);
    const from = playlistStem === undefined ? "the layout's default" : 'the stem of the playlist put with them';
    ctx.out.notice(`${countOf(renamed.length, 'file')} of ${stream} do not fit the layout's names: stored with the stem "${stem}" (${from}), such as ${example.file === '-' ? 'stdin' : example.file} → ${key}`);
  }
  return named;
}

async function put(ctx: CommandContext, stream: string, files: string[], options: PutOptions): Promise<void> {
  if (options.id !== undefined && files.length !== 1) {
    throw new StorageError('InvalidArgument', '--id names the id of a single file (or of "-" for stdin): give one file');
  }
  if (files.includes('-') && options.id === undefined) {
    throw new StorageError('InvalidArgument', 'reading a segment from stdin ("-") needs --id <n>');
  }
  const { config } = await ctx.config();
  const storage = await ctx.storage({ pool: options.pool });
  storage.layout.assertStream(stream);
  // A read-only pool named by --pool refuses the whole put (exit 2) before any input is read.
  if (options.pool !== undefined) {
    const pool = storage.manager.pool(options.pool);
    assertWritable({ name: pool.name, readOnly: pool.config.readOnly });
  }
  // Every name and input is checked before anything is written, so a bad one changes nothing.
  const named = nameInputs(ctx, storage.layout, stream, files, options.id);
  const firstOfId = new Map<string, string>();
  for (const item of named) {
    const id = item.kind === 'segment' ? String(item.id) : item.kind;
    const first = firstOfId.get(id);
    if (first !== undefined) throw refuse(`${first} and ${item.file} are both ${item.kind === 'segment' ? `segment ${id}` : item.kind === 'init' ? 'the init file' : 'the playlist'} of ${stream}: give each once`);
    firstOfId.set(id, item.file);
  }
  const items: PutItem[] = [];
  for (const item of named) items.push({ ...item, data: await checkInput(ctx, item.file, config.maxSegmentBytes, options.allowEmpty === true) });

  const warnedSkips = new Set<string>();
  const warn = (saved: SaveResult): void => {
    if (saved.error !== null) return;
    for (const failure of saved.failedOver) ctx.out.warn(`${failure.pool} refused the write, used the next pool: ${failure.error.message}`);
    // Once per pool and reason for the whole put; a read-only pool is skipped by its config, no news.
    for (const skip of saved.skipped) {
      if (skip.reason === 'read-only' || warnedSkips.has(`${skip.pool}\0${skip.reason}`)) continue;
      warnedSkips.add(`${skip.pool}\0${skip.reason}`);
      ctx.out.warn(`skipped pool "${skip.pool}": ${skip.detail}`);
    }
    for (const stale of saved.staleCopies) ctx.out.warn(`${stale.error.message}; until it is removed (rm with --pool ${stale.pool}), a read may return the older bytes`);
  };
  // Progress as migrate and cleanup show it: a spinner on a terminal, a line every few seconds
  // otherwise, nothing with --quiet.
  const progress = await ctx.out.progress(`put ${stream}: storing ${countOf(items.length, 'file')}…`);
  let stored = 0;
  let storedBytes = 0;
  const onSaved = (result: SaveResult): void => {
    if (result.error === null) {
      stored++;
      storedBytes += result.size;
    }
    progress.update(`put ${stream}: ${formatCount(stored)} of ${countOf(items.length, 'file')} stored (${formatBytes(storedBytes)})`);
    warn(result);
  };
  const saved = await storage.saveMany(stream, items, { pool: options.pool, concurrency: PUT_CONCURRENCY, onSaved }).finally(() => progress.stop());
  // A refusal of the request itself (--pool naming a read-only pool) that left everything unstored
  // is a usage error (exit 2: nothing changed); any other failure, or one after something was
  // stored, exits 1.
  const failed = saved.filter((r) => r.error !== null);
  if (failed.length > 0) {
    const usage = failed.length === saved.length && failed.every((r) => exitCodeFor(r.error) === EXIT.usage);
    ctx.fail(usage ? EXIT.usage : EXIT.failed);
  }
  const results = saved.map((r) => ({
    file: r.item.file,
    stream,
    kind: r.item.kind,
    id: r.item.kind === 'segment' ? r.item.id : null,
    key: r.error === null ? r.key : null,
    pool: r.error === null ? r.pool : null,
    size: r.error === null ? r.size : null,
    failedOver: r.error === null ? r.failedOver : [],
    error: r.error,
  }));
  ctx.out.errorsByCause(results.filter((r) => r.error !== null).map((r) => ({ item: r.file, error: r.error })), (count, pool) => `${countOf(count, 'file')} not stored${pool === undefined ? '' : ` in ${pool}`}`);
  if (ctx.out.json) return ctx.out.printJson({ segments: results });
  if (ctx.out.quiet) return;
  await ctx.out.table(
    ['ID', 'POOL', 'SIZE', 'FILE'],
    results.filter((r) => r.error === null).map((r) => [r.id ?? r.kind, r.pool ?? '-', formatBytes(r.size), r.file]),
    ['right', 'left', 'right'],
  );
}

export function registerPut(program: Program): void {
  program.command
    .command('put')
    .description("store segment files (and the playlist, the init file); named as the layout names them, the id read from the name (or its last number)")
    .argument('<stream>', 'stream name')
    .argument('<file...>', 'segment files, or - for stdin with --id')
    .option('--id <n>', 'segment id for a single file or stdin', (value: string) => {
      if (!/^\d+$/.test(value)) throw new InvalidArgumentError('must be a whole number, 0 or more');
      return value;
    })
    .option('--pool <name>', 'write to this pool only, with no failover')
    .option('--allow-empty', 'store an empty (0-byte) input; without it, an empty input is refused', false)
    .addHelpText(
      'after',
      '\nEvery input is checked before anything is stored: a directory, an unreadable or missing file, two inputs of one id, an empty input (without --allow-empty) or one larger than maxSegmentBytes (1 GiB by default) exits 2 with nothing stored.\n\nA file named as the layout names a file of the stream (cam1-3.ts under nginx-rtmp, out3.ts under ffmpeg) is stored under that name, its stem kept, so a playlist put with it still names it; other names are stored under the name the layout gives their id (the stem of the playlist put with them, or "index").\n\nExamples:\n  flux-storage put cam1 segment_1.ts segment_2.ts index.m3u8\n  ffmpeg ... | flux-storage put cam1 - --id 42',
    )
    .action(program.action(put));
}
