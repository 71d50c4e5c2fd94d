// get <stream> <id>: a segment's bytes to a file (-o) or to stdout, never raw to a terminal.
// get <stream> --playlist: the stored playlist (text, so a terminal may show it).

import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { StorageError } from '../../errors.js';
import { parseSegmentId } from '../../segments/layout.js';
import { playlistKey, segmentKey } from '../../segments/lookup.js';
import type { CommandContext } from '../context.js';
import { formatBytes } from '../output.js';
import type { Program } from '../program.js';

interface GetOptions {
  output?: string;
  pool?: string;
  playlist?: boolean;
}

async function get(ctx: CommandContext, stream: string, idText: string | undefined, options: GetOptions): Promise<void> {
  if ((idText === undefined) === (options.playlist !== true)) {
    throw new StorageError('InvalidArgument', idText === undefined ? 'name the segment id, or give --playlist for the playlist' : 'give a segment id or --playlist, not both');
  }
  const id = idText === undefined ? undefined : parseSegmentId(idText);
  const toStdout = options.output === undefined || options.output === '-';
  if (toStdout && ctx.out.json && id !== undefined) {
    throw new StorageError('InvalidArgument', 'with --json, stdout holds the JSON document: give -o <file> for the bytes');
  }
  if (toStdout && ctx.out.stdoutIsTerminal && id !== undefined) {
    throw new StorageError('InvalidArgument', 'refusing to write binary data to a terminal: give -o <file> or pipe the output');
  }
  const storage = await ctx.storage({ pool: options.pool });
  storage.layout.assertStream(stream);
  // The real key: under a free stem (ffmpeg) the stream's folder is listed to find it.
  const key = id === undefined ? await playlistKey(storage, stream, options) : await segmentKey(storage, stream, id, options);
  const { data, pool } = await storage.manager.read(key, options.pool === undefined ? {} : { pool: options.pool });
  const what = id === undefined ? `the playlist of ${stream}` : `segment ${id} of ${stream}`;
  if (toStdout) {
    // A playlist under --json is in the document, as text.
    if (ctx.out.json) return ctx.out.printJson({ stream, key, pool, size: data.length, text: data.toString('utf8') });
    await ctx.out.writeBytes(data);
    return;
  }
  await writeFile(path.resolve(ctx.io.cwd, options.output!), data);
  if (ctx.out.json) return ctx.out.printJson({ stream, ...(id === undefined ? {} : { id }), key, pool, size: data.length, file: options.output });
  ctx.out.notice(`${what}: ${formatBytes(data.length)} from pool ${pool} → ${options.output}`);
}

export function registerGet(program: Program): void {
  program.command
    .command('get')
    .description("fetch one segment (or the stream's playlist) from whichever pool holds it")
    .argument('<stream>', 'stream name')
    .argument('[id]', 'segment id')
    .option('--playlist', "the stream's playlist instead of a segment")
    .option('-o, --output <file>', 'write to this file (- for stdout)')
    .option('--pool <name>', 'read from this pool only')
    .addHelpText('after', '\nExamples:\n  flux-storage get cam1 42 -o segment_42.ts\n  flux-storage get cam1 42 | ffprobe -\n  flux-storage get cam1 --playlist')
    .action(program.action(get));
}
