// Output that fits: boxes fitted to a terminal's width, plain columns for pipes and TERM=dumb, NO_COLOR.

import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { stripVTControlCharacters } from 'node:util';
import { describe, expect, it } from 'vitest';
import { drawTable, fitWidths, wrap } from '../../src/cli/table.js';
import { cli, workdir } from './run.js';
import { inTerminal } from './terminal.js';

const POOLS = ['primary-ssd-rack-a', 'secondary-s3-eu-west', 'archive-oss-hangzhou'];

/** Three pools holding the same stream, so that ls shows a long POOLS cell. */
async function store(): Promise<string> {
  const cwd = await workdir({ pools: POOLS.map((name, i) => ({ name, priority: i + 1, backend: { type: 'local', root: `./${name}`, createRoot: true } })) });
  for (const name of POOLS) {
    for (const stream of ['cam1', 'lobby-camera-north-entrance']) {
      await mkdir(path.join(cwd, name, 'hls', stream), { recursive: true });
      await writeFile(path.join(cwd, name, 'hls', stream, 'segment_7.ts'), 'x'.repeat(1000));
    }
  }
  return cwd;
}

describe('tables', () => {
  it('fit the terminal: every line within its width, cells wrapped between words, never inside one', async () => {
    const cwd = await store();
    const result = await cli(['ls'], { cwd, stdoutIsTTY: true, columns: 90, env: { NO_COLOR: '1' } });
    expect(result.code).toBe(0);
    const lines = result.stdout.trimEnd().split('\n');
    for (const line of lines) expect(line.length, line).toBeLessThanOrEqual(90);
    expect(lines[0]).toMatch(/^┌─/);
    // Every pool name and the long stream name are whole on some line.
    for (const word of [...POOLS, 'lobby-camera-north-entrance']) expect(result.stdout).toContain(word);
    // Narrower than the longest words allow: the widest column's words are cut with "…", the table still fits.
    const narrow = await cli(['ls'], { cwd, stdoutIsTTY: true, columns: 50, env: { NO_COLOR: '1' } });
    for (const line of narrow.stdout.trimEnd().split('\n')) expect(line.length, line).toBeLessThanOrEqual(50);
    expect(narrow.stdout).toContain('…');
    const wide = await cli(['ls'], { cwd, stdoutIsTTY: true, columns: 200, env: { NO_COLOR: '1' } });
    expect(wide.stdout.trimEnd().split('\n')).toHaveLength(5);
    expect(wide.stdout).toContain(POOLS.join(','));
  });

  it('are plain aligned columns when stdout is not a terminal, or TERM=dumb: awk reads them', async () => {
    const cwd = await store();
    for (const options of [{}, { stdoutIsTTY: true, columns: 40, env: { TERM: 'dumb' } }]) {
      const result = await cli(['ls'], { cwd, ...options });
      expect(result.stdout).not.toMatch(/[│┌─└]/);
      expect(result.stdout).not.toContain('\u001b[');
      const lines = result.stdout.trimEnd().split('\n');
      expect(lines[0]).toMatch(/^STREAM +SEGMENTS +SIZE +FIRST +LAST +POOLS$/);
      expect(lines.slice(1).map((l) => l.split(/\s+/)[0])).toEqual(['cam1', 'lobby-camera-north-entrance']);
      expect(lines.slice(1).map((l) => l.split(/\s+/).at(-1))).toEqual([POOLS.join(','), POOLS.join(',')]);
      // Aligned: each header starts where its column starts.
      expect(lines[1]!.indexOf('1000 B') + '1000 B'.length).toBe(lines[0]!.indexOf('SIZE') + 'SIZE'.length);
    }
  });

  it('NO_COLOR: no escape codes at all; without it the header is bold on a terminal', async () => {
    const cwd = await store();
    expect((await cli(['ls'], { cwd, stdoutIsTTY: true })).stdout).toContain('\u001b[1mSTREAM');
    const plain = await cli(['ls'], { cwd, stdoutIsTTY: true, env: { NO_COLOR: '1' } });
    expect(plain.stdout).not.toContain('\u001b[');
    expect(plain.stdout).toContain('STREAM');
    // stderr is not a terminal here: its "error:" prefix carries no colour either.
    expect((await cli(['get', 'cam1', '99', '-o', 'x'], { cwd, stdoutIsTTY: true })).stderr).toMatch(/^error: /);
  });

  it('wrap and fitWidths: words are kept whole; only a word wider than everything left is cut, with "…"', () => {
    expect(wrap('ssd,s3,oss', 7)).toEqual(['ssd,s3,', 'oss']);
    expect(wrap('2026-11-25 18:00:00Z', 12)).toEqual(['2026-11-25', '18:00:00Z']);
    expect(wrap('abcdefghij', 5)).toEqual(['abcd…']);
    expect(fitWidths([['ID', 'POOLS'], ['1', 'primary,secondary']], 20)).toEqual([2, 11]);
    const table = drawTable(['ID', 'POOLS'], [['1', 'primary,secondary']], ['right'], (h) => h, 20);
    expect(table.split('\n')).toEqual(['┌────┬─────────────┐', '│ ID │ POOLS       │', '│  1 │ primary,    │', '│    │ secondary   │', '└────┴─────────────┘']);
  });

  it('at a real terminal 60 columns wide (a pseudo-terminal), ls fits', async () => {
    const cwd = await store();
    const run = inTerminal(['ls'], { cwd, columns: 60, env: { NO_COLOR: '1' } });
    const result = await run.done;
    expect(result.code).toBe(0);
    const table = stripVTControlCharacters(result.screen).split(/\r?\n/).filter((l) => /^[│┌└]/.test(l));
    expect(table.length).toBeGreaterThan(5);
    for (const line of table) expect(line.length, line).toBeLessThanOrEqual(60);
  });
});
