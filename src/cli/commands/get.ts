// get <stream> <id>: a segment's bytes to a file (-o) or to stdout, never raw to a terminal.

import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { StorageError } from '../../errors.js';
import { parseSegmentId } from '../../segments/layout.js';
import type { CommandContext } from '../context.js';
import { formatBytes } from '../output.js';
import type { Program } from '../program.js';

interface GetOptions {
  output?: string;
  pool?: string;
}

async function get(ctx: CommandContext, stream: string, idText: string, options: GetOptions): Promise<void> {
  const id = parseSegmentId(idText);
  const toStdout = options.output === undefined || options.output === '-';
  if (toStdout && ctx.out.json) {
    throw new StorageError('InvalidArgument', 'with --json, stdout holds the JSON document: give -o <file> for the bytes');
  }
  if (toStdout && ctx.out.stdoutIsTerminal) {
    throw new StorageError('InvalidArgument', 'refusing to write binary data to a terminal: give -o <file> or pipe the output');
  }
  const storage = await ctx.storage({ pool: options.pool });
  const { data, pool, key } = await storage.load(stream, id, options);
  if (toStdout) {
    await ctx.out.writeBytes(data);
    return;
  }
  await writeFile(path.resolve(ctx.io.cwd, options.output!), data);
  if (ctx.out.json) return ctx.out.printJson({ stream, id, key, pool, size: data.length, file: options.output });
  ctx.out.notice(`segment ${id} of ${stream}: ${formatBytes(data.length)} from pool ${pool} → ${options.output}`);
}

export function registerGet(program: Program): void {
  program.command
    .command('get')
    .description('fetch one segment from whichever pool holds it')
    .argument('<stream>', 'stream name')
    .argument('<id>', 'segment id')
    .option('-o, --output <file>', 'write to this file (- for stdout)')
    .option('--pool <name>', 'read from this pool only')
    .addHelpText('after', '\nExamples:\n  flux-storage get cam1 42 -o segment_42.ts\n  flux-storage get cam1 42 | ffprobe -')
    .action(program.action(get));
}
