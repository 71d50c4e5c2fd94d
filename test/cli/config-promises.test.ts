// README promises about config files and pool options, through the CLI (in-process): relative roots
// resolve against the config file's folder (not the working directory), YAML and JS configs are
// found and read, rm --pool removes from that pool alone, and a read-only pool is still cleaned.

import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { cli, workdir } from './run.js';

const SEGMENT = Buffer.alloc(188, 0x47);

async function seed(root: string, ids: number[]): Promise<void> {
  await mkdir(path.join(root, 'hls/cam1'), { recursive: true });
  for (const id of ids) await writeFile(path.join(root, `hls/cam1/segment_${id}.ts`), SEGMENT);
}

describe('relative roots resolve against the config file folder', () => {
  it('with -c and with FLUX_STORAGE_CONFIG, from another working directory', async () => {
    const configDir = await mkdtemp(path.join(tmpdir(), 'flux-cfg-'));
    const file = path.join(configDir, 'storage.config.json');
    await writeFile(file, JSON.stringify({ pools: [{ name: 'disk', backend: { type: 'local', root: './data', createRoot: true } }] }));
    const elsewhere = await workdir();
    expect((await cli(['-c', file, 'put', 'cam1', '-', '--id', '1'], { cwd: elsewhere, stdin: SEGMENT })).code).toBe(0);
    expect((await cli(['put', 'cam1', '-', '--id', '2'], { cwd: elsewhere, stdin: SEGMENT, env: { FLUX_STORAGE_CONFIG: file } })).code).toBe(0);
    expect(existsSync(path.join(configDir, 'data/hls/cam1/segment_1.ts'))).toBe(true);
    expect(existsSync(path.join(configDir, 'data/hls/cam1/segment_2.ts'))).toBe(true);
    expect(existsSync(path.join(elsewhere, 'data'))).toBe(false);
  });
});

describe('config files of every format the README lists', () => {
  const pool = (name: string) => ({ pools: [{ name, backend: { type: 'local', root: `./${name}`, createRoot: true } }] });
  it.each([
    ['.flux-storagerc', JSON.stringify(pool('rc'))],
    ['.flux-storagerc.json', JSON.stringify(pool('rcjson'))],
    ['.flux-storagerc.yaml', 'pools:\n  - name: rcyaml\n    backend:\n      type: local\n      root: ./rcyaml\n      createRoot: true\n'],
    ['.flux-storagerc.yml', 'pools:\n  - name: rcyml\n    backend: { type: local, root: ./rcyml, createRoot: true }\n'],
    ['.flux-storagerc.js', `export default ${JSON.stringify(pool('rcjs'))};\n`],
    ['.flux-storagerc.mjs', `export default ${JSON.stringify(pool('rcmjs'))};\n`],
    ['flux-storage.config.js', `export default ${JSON.stringify(pool('configjs'))};\n`],
    ['flux-storage.config.mjs', `export default ${JSON.stringify(pool('configmjs'))};\n`],
  ])('%s is found and used', async (name, text) => {
    const cwd = await workdir();
    // A .js file is an ES module when the nearest package.json says so, as in a project using this tool.
    if (name.endsWith('.js')) await writeFile(path.join(cwd, 'package.json'), '{ "type": "module" }\n');
    await writeFile(path.join(cwd, name), text);
    const put = await cli(['put', 'cam1', '-', '--id', '1', '--json'], { cwd, stdin: SEGMENT });
    expect(put.code, put.stderr).toBe(0);
    const expected = name.startsWith('flux-storage.config') ? `config${name.split('.').pop()}` : `rc${name.split('.').slice(2).join('')}`;
    expect(put.json<{ segments: { pool: string }[] }>().segments[0]?.pool).toBe(expected);
    expect(existsSync(path.join(cwd, expected, 'hls/cam1/segment_1.ts'))).toBe(true);
  });
});

describe('pool options seen through commands', () => {
  async function twoPools(extra: Record<string, unknown> = {}) {
    const cwd = await workdir({
      pools: [
        { name: 'a', priority: 1, ...extra, backend: { type: 'local', root: './a', createRoot: true } },
        { name: 'b', priority: 2, backend: { type: 'local', root: './b', createRoot: true } },
      ],
    });
    return { cwd, a: path.join(cwd, 'a'), b: path.join(cwd, 'b') };
  }

  it('rm --pool removes the segment from that pool alone', async () => {
    const { cwd, a, b } = await twoPools();
    await seed(a, [1]);
    await seed(b, [1]);
    const result = await cli(['rm', 'cam1', '1', '--pool', 'b', '--json'], { cwd });
    expect(result.code, result.stderr).toBe(0);
    expect(existsSync(path.join(b, 'hls/cam1/segment_1.ts'))).toBe(false);
    expect(existsSync(path.join(a, 'hls/cam1/segment_1.ts'))).toBe(true);
    expect((await cli(['rm', 'cam1', '1', '--pool', 'b'], { cwd })).code).toBe(3);
  });

  it('a read-only pool is read, listed and cleaned, but put never writes to it', async () => {
    const { cwd, a, b } = await twoPools({ readOnly: true });
    await seed(a, [0, 1, 2, 3, 4]);
    const listed = await cli(['ls', 'cam1', '--json'], { cwd });
    expect(listed.json<{ segments: { id: number; pools: string[] }[] }>().segments.map((s) => [s.id, s.pools])).toEqual([0, 1, 2, 3, 4].map((id) => [id, ['a']]));
    expect((await cli(['get', 'cam1', '3', '-o', 'copy.ts'], { cwd })).code).toBe(0);
    const put = await cli(['put', 'cam1', '-', '--id', '9', '--json'], { cwd, stdin: SEGMENT });
    expect(put.json<{ segments: { pool: string }[] }>().segments[0]?.pool).toBe('b');
    expect(existsSync(path.join(a, 'hls/cam1/segment_9.ts'))).toBe(false);
    const cleanup = await cli(['cleanup', 'cam1', '--keep', '2', '--json'], { cwd });
    expect(cleanup.code, cleanup.stderr).toBe(0);
    // The newest two of the stream are 4 (in a) and 9 (in b): 0-3 go, from the read-only pool too.
    expect([0, 1, 2, 3, 4].map((id) => existsSync(path.join(a, `hls/cam1/segment_${id}.ts`)))).toEqual([false, false, false, false, true]);
    expect(existsSync(path.join(b, 'hls/cam1/segment_9.ts'))).toBe(true);
  });
});
