// playlist <stream>: a VOD playlist over the stored segments of a range, durations measured from
// each segment's timestamps (src/segments/vod.ts).

import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { CommandContext } from '../context.js';
import { countOf } from '../output.js';
import type { Program } from '../program.js';

interface PlaylistOptions {
  from?: string;
  to?: string;
  output?: string;
  baseUrl?: string;
  pool?: string;
}

async function playlist(ctx: CommandContext, stream: string, options: PlaylistOptions): Promise<void> {
  const storage = await ctx.storage({ pool: options.pool });
  storage.layout.assertStream(stream);
  const { buildVod } = await import('../../segments/vod.js');
  // Named as the live playlist names them: relative to its folder, or under --base-url.
  const folder = path.posix.dirname(storage.layout.playlistKey(stream));
  const uri = (key: string): string => (options.baseUrl === undefined ? path.posix.relative(folder, key) : `${options.baseUrl.replace(/\/+$/, '')}/${key}`);
  const { text, segments } = await buildVod(storage, stream, { from: options.from, to: options.to, pool: options.pool, uri, signal: ctx.io.signal });
  const total = segments.reduce((sum, s) => sum + s.duration, 0);
  if (options.output === undefined || options.output === '-') {
    if (ctx.out.json) return ctx.out.printJson({ stream, segments: segments.length, duration: total, playlist: text });
    ctx.out.print(text.trimEnd());
    return;
  }
  await writeFile(path.resolve(ctx.io.cwd, options.output), text);
  if (ctx.out.json) return ctx.out.printJson({ stream, segments: segments.length, duration: total, file: options.output });
  ctx.out.notice(`${countOf(segments.length, 'segment')} of ${stream}, ${total.toFixed(3)} s (ids ${segments[0]!.id}-${segments[segments.length - 1]!.id}) → ${options.output}`);
}

export function registerPlaylist(program: Program): void {
  program.command
    .command('playlist')
    .description('write a VOD playlist over the stored segments, with durations measured from their timestamps')
    .argument('<stream>', 'stream name')
    .option('--from <id|time>', 'first segment id (or time, for time-named layouts)')
    .option('--to <id|time>', 'last segment id (or time)')
    .option('-o, --output <file>', 'write to this file (default: stdout)')
    .option('--base-url <url>', 'name segments by absolute URLs under this base (default: relative to the live playlist)')
    .option('--pool <name>', 'read from this pool only')
    .addHelpText('after', '\nExamples:\n  flux-storage playlist cam1 --from 100 --to 400 -o cam1-vod.m3u8\n  flux-storage playlist cam1 --base-url http://127.0.0.1:8080 | ffprobe -')
    .action(program.action(playlist));
}
