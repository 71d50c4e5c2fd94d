// Objects under the layout's root that no stream owns (a file beside the streams' folders, a flat
// layout's stray file, a note beside a master playlist) are named by ls, never hidden, and cleanup
// leaves them alone.

import { mkdir, readdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { cli, workdir } from './run.js';

interface Case {
  layout: unknown;
  /** Files of streams, then the stray ones, relative to the pool's root. */
  files: string[];
  stray: string[];
  root: string;
}

const CASES: Record<string, Case> = {
  'the default layout (a file beside the stream folders)': {
    layout: undefined,
    files: ['hls/cam1/segment_1.ts', 'hls/cam1/segment_2.ts', 'hls/cam1/index.m3u8'],
    stray: ['hls/README.txt'],
    root: 'hls/',
  },
  'nginx-rtmp flat (stray files in the shared folder)': {
    layout: 'nginx-rtmp',
    files: ['cam1-1.ts', 'cam1-2.ts', 'cam1.m3u8'],
    stray: ['notes.txt', 'snapshot.jpg', 'x.mp4', 'y.mp4'],
    root: '/',
  },
  'ffmpeg variants (a note beside the master playlist)': {
    layout: 'ffmpeg-variants',
    files: ['cam1/0/out1.ts', 'cam1/0/out.m3u8', 'cam1/master.m3u8'],
    stray: ['cam1/notes.txt'],
    root: '/',
  },
};

describe('objects that belong to no stream', () => {
  it.each(Object.keys(CASES))('%s: ls names them (table and --json), cleanup leaves them', async (name) => {
    const c = CASES[name]!;
    const cwd = await workdir({ ...(c.layout === undefined ? {} : { layout: c.layout }), pools: [{ name: 'disk', backend: { type: 'local', root: './store' } }] });
    for (const file of [...c.files, ...c.stray]) {
      await mkdir(path.dirname(path.join(cwd, 'store', file)), { recursive: true });
      await writeFile(path.join(cwd, 'store', file), file.endsWith('.m3u8') ? '#EXTM3U\n' : 'x');
    }

    const table = await cli(['ls'], { cwd });
    expect(table.code, table.stderr).toBe(0);
    const shown = c.stray.slice(0, 3).join(', ');
    const more = c.stray.length > 3 ? ` and ${c.stray.length - 3} more` : '';
    const noun = c.stray.length === 1 ? '1 object' : `${c.stray.length} objects`;
    expect(table.stderr).toContain(`${noun} in pool "disk" under ${JSON.stringify(c.root)} ${c.stray.length === 1 ? 'belongs' : 'belong'} to no stream of the layout (${shown}${more}); cleanup leaves them alone`);

    const json = await cli(['ls', '--json'], { cwd });
    expect(json.code).toBe(0);
    expect(json.json<{ unowned: unknown }>().unowned).toEqual([{ pool: 'disk', count: c.stray.length, examples: c.stray.slice(0, 3) }]);

    const cleanup = await cli(['cleanup', '--all', '--keep', '0', '--quiet'], { cwd });
    expect(cleanup.code, cleanup.stderr).toBe(0);
    const left = await readdir(path.join(cwd, 'store'), { recursive: true });
    for (const file of c.stray) expect(left).toContain(file);
  });

  it('a store with nothing stray says nothing of it, and --json has an empty list', async () => {
    const cwd = await workdir({ pools: [{ name: 'disk', backend: { type: 'local', root: './store' } }] });
    await mkdir(path.join(cwd, 'store/hls/cam1'), { recursive: true });
    await writeFile(path.join(cwd, 'store/hls/cam1/segment_1.ts'), 'x');
    const table = await cli(['ls'], { cwd });
    expect(table.stderr).not.toContain('no stream of the layout');
    expect((await cli(['ls', '--json'], { cwd })).json<{ unowned: unknown }>().unowned).toEqual([]);
  });
});
