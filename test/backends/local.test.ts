// The local backend: the conformance suite, plus what only a filesystem can get wrong.

import { mkdtemp, readdir, rm, symlink, writeFile, mkdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import * as v from 'valibot';
import { describe, expect, it } from 'vitest';
import { LocalBackend } from '../../src/backends/local/index.js';
import { localOptionsSchema } from '../../src/backends/local/options.js';
import { runConformance } from '../conformance/suite.js';

async function makeLocal(): Promise<{ backend: LocalBackend; dir: string }> {
  const dir = await mkdtemp(path.join(tmpdir(), 'flux-local-'));
  const backend = new LocalBackend(v.parse(localOptionsSchema, { type: 'local', root: dir }));
  return { backend, dir };
}

runConformance(
  'local',
  async () => {
    const { backend, dir } = await makeLocal();
    const outside = await mkdtemp(path.join(tmpdir(), 'flux-outside-'));
    return {
      backend,
      cleanup: () => Promise.all([rm(dir, { recursive: true, force: true }), rm(outside, { recursive: true, force: true })]).then(() => undefined),
      symlinks: {
        outside,
        pathOf: (key) => path.join(dir, key),
        async link(key, target) {
          await mkdir(path.dirname(path.join(dir, key)), { recursive: true });
          await symlink(target, path.join(dir, key));
        },
      },
    };
  },
  { symlinks: true },
);

describe('local backend', () => {
  it('rejects a key that resolves outside the root even when it gets past the front door', async () => {
    const { backend, dir } = await makeLocal();
    expect(() => backend.resolve('a/../../x')).toThrow(/"\." or "\.\."/);
    expect(backend.resolve('a/b.ts')).toBe(path.join(dir, 'a/b.ts'));
  });

  it('leaves no temporary file behind and never lists one', async () => {
    const { backend, dir } = await makeLocal();
    await backend.write('hls/s/segment_1.ts', Buffer.from('abc'));
    expect(await readdir(path.join(dir, '.flux-storage/tmp'))).toEqual([]);
    await writeFile(path.join(dir, '.flux-storage/tmp/99999999.deadbeef'), 'half a segment');
    const keys: string[] = [];
    for await (const entry of backend.list('')) keys.push(entry.key);
    expect(keys).toEqual(['hls/s/segment_1.ts']);
  });

  it('sweeps temporary files of writers that died', async () => {
    const { dir } = await makeLocal();
    await mkdir(path.join(dir, '.flux-storage/tmp'), { recursive: true });
    await writeFile(path.join(dir, '.flux-storage/tmp/99999999.deadbeef'), 'half a segment');
    const fresh = new LocalBackend(v.parse(localOptionsSchema, { type: 'local', root: dir }));
    await fresh.write('hls/s/segment_2.ts', Buffer.from('abc'));
    expect(await readdir(path.join(dir, '.flux-storage/tmp'))).toEqual([]);
  });

  it('reports a root that is a regular file as Unavailable on every operation that needs it', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'flux-local-'));
    const file = path.join(dir, 'not-a-dir');
    await writeFile(file, 'x');
    const backend = new LocalBackend(v.parse(localOptionsSchema, { type: 'local', root: file }));
    await expect(backend.write('hls/s/segment_1.ts', Buffer.from('x'))).rejects.toMatchObject({ code: 'Unavailable' });
    await expect(backend.read('hls/s/segment_1.ts')).rejects.toMatchObject({ code: 'Unavailable' });
    await expect(backend.exists('hls/s/segment_1.ts')).rejects.toMatchObject({ code: 'Unavailable' });
  });

  it('does not follow a symlinked folder out of the root when listing', async () => {
    const { backend, dir } = await makeLocal();
    const outside = await mkdtemp(path.join(tmpdir(), 'flux-outside-'));
    await writeFile(path.join(outside, 'secret.ts'), 'x');
    await mkdir(path.join(dir, 'hls'), { recursive: true });
    await symlink(outside, path.join(dir, 'hls/link'));
    const keys: string[] = [];
    for await (const entry of backend.list('hls/')) keys.push(entry.key);
    expect(keys).toEqual([]);
  });

  it('reports a configured root that does not exist, naming it, and creates nothing', async () => {
    const parent = await mkdtemp(path.join(tmpdir(), 'flux-local-'));
    const root = path.join(parent, 'mnt/disk1/hls');
    const backend = new LocalBackend(v.parse(localOptionsSchema, { type: 'local', root }));
    const missing = { code: 'Unavailable', retryable: false, message: expect.stringContaining(`the root ${root} does not exist`) };
    await expect(backend.write('hls/s/segment_1.ts', Buffer.from('x'))).rejects.toMatchObject(missing);
    await expect(backend.read('hls/s/segment_1.ts')).rejects.toMatchObject(missing);
    await expect(backend.exists('hls/s/segment_1.ts')).rejects.toMatchObject(missing);
    await expect(backend.delete('hls/s/segment_1.ts')).rejects.toMatchObject(missing);
    await expect(backend.usage()).rejects.toMatchObject(missing);
    await expect((async () => {
      for await (const entry of backend.list('hls/')) void entry;
    })()).rejects.toMatchObject(missing);
    expect(await readdir(parent)).toEqual([]);
  });

  it('creates a missing root with createRoot, and lists it as empty before', async () => {
    const parent = await mkdtemp(path.join(tmpdir(), 'flux-local-'));
    const root = path.join(parent, 'new/root');
    const backend = new LocalBackend(v.parse(localOptionsSchema, { type: 'local', root, createRoot: true }));
    const keys: string[] = [];
    for await (const entry of backend.list('')) keys.push(entry.key);
    expect(keys).toEqual([]);
    expect(await backend.exists('hls/s/segment_1.ts')).toBe(false);
    await backend.write('hls/s/segment_1.ts', Buffer.from('x'));
    expect((await backend.read('hls/s/segment_1.ts')).toString()).toBe('x');
  });

  it('never recreates a root that went away after it was found (an unmounted disk)', async () => {
    const { backend, dir } = await makeLocal();
    await backend.write('hls/s/segment_1.ts', Buffer.from('x'));
    await rm(dir, { recursive: true });
    await expect(backend.read('hls/s/segment_1.ts')).rejects.toMatchObject({ code: 'Unavailable', message: expect.stringContaining(`the root ${dir} does not exist`) });
    await expect(backend.exists('hls/s/segment_1.ts')).rejects.toMatchObject({ code: 'Unavailable' });
    await expect(backend.write('hls/s/segment_2.ts', Buffer.from('y'))).rejects.toMatchObject({ code: 'Unavailable', message: expect.stringContaining(`the root ${dir} does not exist`) });
    await expect(backend.write('hls/t/segment_2.ts', Buffer.from('y'))).rejects.toMatchObject({ code: 'Unavailable' });
    await expect(backend.read('hls/s/segment_1.ts')).rejects.toMatchObject({ code: 'Unavailable' });
    await expect(readdir(dir)).rejects.toMatchObject({ code: 'ENOENT' });
  });

  it('accepts a root whose own path is a symlink (the operator chose it)', async () => {
    const { dir } = await makeLocal();
    const link = `${dir}-link`;
    await symlink(dir, link);
    const backend = new LocalBackend(v.parse(localOptionsSchema, { type: 'local', root: link }));
    await backend.write('hls/s/segment_1.ts', Buffer.from('via link'));
    expect(await readdir(path.join(dir, 'hls/s'))).toEqual(['segment_1.ts']);
    const keys: string[] = [];
    for await (const entry of backend.list('hls/')) keys.push(entry.key);
    expect(keys).toEqual(['hls/s/segment_1.ts']);
    await rm(link);
  });

  it('refuses the filesystem root, written or resolved', () => {
    expect(() => v.parse(localOptionsSchema, { type: 'local', root: '/' })).toThrow(/must not be the filesystem root/);
    expect(() => v.parse(localOptionsSchema, { type: 'local', root: '//.' })).toThrow(/must not be the filesystem root/);
    expect(() => new LocalBackend({ type: 'local', root: '../../../../../../../../..', fsync: false, concurrency: 1 }, { baseDir: '/tmp/a' })).toThrow(/is the filesystem root/);
  });

  it('never blocks on a FIFO left where a segment should be', async () => {
    const { backend, dir } = await makeLocal();
    const { execFileSync } = await import('node:child_process');
    await mkdir(path.join(dir, 'hls/s'), { recursive: true });
    execFileSync('mkfifo', [path.join(dir, 'hls/s/segment_1.ts')]);
    await expect(backend.read('hls/s/segment_1.ts')).rejects.toMatchObject({ code: 'NotFound' });
    expect(await backend.exists('hls/s/segment_1.ts')).toBe(false);
  });

  it('reports filesystem usage from statfs', async () => {
    const { backend } = await makeLocal();
    const usage = await backend.usage();
    expect(usage.totalBytes).toBeGreaterThan(0);
    expect(usage.usedBytes).toBeGreaterThan(0);
  });
});
