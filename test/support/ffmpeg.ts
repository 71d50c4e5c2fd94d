// Real HLS streams made by ffmpeg (Debian package), named the way each producer names them, for the
// tests of layouts, verify and playlists. A few seconds of a test pattern and a tone, 1 s segments.

import { execFile } from 'node:child_process';
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

export interface FfmpegStream {
  /** Folder the files were written into. */
  dir: string;
  /** The playlist's path. */
  playlist: string;
}

export interface MakeStreamOptions {
  /** Segment file name pattern relative to `dir`, with ffmpeg's %d (e.g. `cam1-%d.ts`, `out%03d.ts`). */
  segment: string;
  /** Playlist file name relative to `dir`. */
  playlist: string;
  seconds?: number;
  /** fMP4 segments with this init file name (relative to the playlist's folder). */
  fmp4Init?: string;
  /** Keep only the last N entries in the playlist (a live window); 0 keeps all. */
  listSize?: number;
  /** Start timestamps here (seconds), e.g. to make a restart after another stream. */
  startAt?: number;
  /** The first segment's number (ffmpeg's -start_number; 0 by default): 8 makes ids cross 10, where string order is wrong. */
  startNumber?: number;
  /**
   * Variants (ffmpeg's -var_stream_map): this many renditions of the picture and tone at different
   * bitrates, `%v` (0, 1, ...) in `segment` and `playlist` naming each one's files, and a master
   * playlist of this name written beside the variant folders (`cam1/v%v/index.m3u8` → `cam1/master.m3u8`).
   */
  variants?: { count: number; master: string };
}

/** Fails with the apt-get hint when ffmpeg is missing: CI installs it, and its tests never skip. */
export async function makeStream(dir: string, options: MakeStreamOptions): Promise<FfmpegStream> {
  const playlist = path.join(dir, options.playlist);
  // ffmpeg makes the folders of each variant (`v%v/`) itself; the ones above them must exist.
  const folderOf = (file: string): string => (file.includes('%v') ? path.dirname(file.slice(0, file.indexOf('%v'))) : path.dirname(file));
  await mkdir(folderOf(playlist), { recursive: true });
  await mkdir(folderOf(path.join(dir, options.segment)), { recursive: true });
  const variants = options.variants?.count ?? 0;
  const args = [
    '-hide_banner', '-loglevel', 'error', '-y',
    '-f', 'lavfi', '-i', 'testsrc=size=160x120:rate=25',
    '-f', 'lavfi', '-i', 'sine=frequency=440:sample_rate=44100',
    '-t', String(options.seconds ?? 4),
    '-c:v', 'libx264', '-preset', 'ultrafast', '-g', '25', '-keyint_min', '25', '-sc_threshold', '0',
    '-c:a', 'aac',
    ...(variants === 0
      ? []
      : [
          ...Array.from({ length: variants }, (_, v) => ['-map', '0:v', '-map', '1:a', `-b:v:${v}`, `${200 - 50 * v}k`]).flat(),
          '-var_stream_map', Array.from({ length: variants }, (_, v) => `v:${v},a:${v}`).join(' '),
          '-master_pl_name', options.variants!.master,
        ]),
    ...(options.startAt === undefined ? [] : ['-output_ts_offset', String(options.startAt)]),
    '-f', 'hls', '-hls_time', '1', '-hls_list_size', String(options.listSize ?? 0),
    ...(options.startNumber === undefined ? [] : ['-start_number', String(options.startNumber)]),
    ...(options.fmp4Init === undefined ? [] : ['-hls_segment_type', 'fmp4', '-hls_fmp4_init_filename', options.fmp4Init]),
    '-hls_segment_filename', path.join(dir, options.segment),
    playlist,
  ];
  try {
    await run('ffmpeg', args, { timeout: 60_000 });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') throw new Error('ffmpeg is not installed: apt-get install -y ffmpeg');
    throw error;
  }
  return { dir, playlist };
}

/** Whether ffmpeg reads `url` (a playlist over HTTP) to its end without an error: what a player needs. */
export async function ffmpegPlays(url: string): Promise<{ ok: boolean; stderr: string }> {
  try {
    const { stderr } = await run('ffmpeg', ['-hide_banner', '-loglevel', 'error', '-i', url, '-f', 'null', '-'], { timeout: 60_000 });
    return { ok: stderr.trim() === '', stderr };
  } catch (error) {
    return { ok: false, stderr: String((error as { stderr?: string }).stderr ?? error) };
  }
}

/** What ffprobe reports of a file: format start time and duration, in seconds. */
export async function ffprobeFormat(file: string): Promise<{ start: number; duration: number }> {
  const { stdout } = await run('ffprobe', ['-v', 'error', '-show_entries', 'format=start_time,duration', '-of', 'json', file]);
  const format = (JSON.parse(stdout) as { format: { start_time: string; duration: string } }).format;
  return { start: Number(format.start_time), duration: Number(format.duration) };
}
