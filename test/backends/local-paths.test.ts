// The local backend's path checks, case by case (the mutants Stryker found unasserted,
// test/MUTATION.md): where a folder of a key is a symlink (one level or several up), a file, a
// symlink loop; where the root went away, became a file or a symlink after it was found; keys at
// the top of the root and one letter deep; and the exact error each case gives (code, what it
// names, whether a retry may help), since that line is all an operator sees.

import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import * as v from 'valibot';
import { describe, expect, it } from 'vitest';
import { LocalBackend } from '../../src/backends/local/index.js';
import { localOptionsSchema } from '../../src/backends/local/options.js';
import { StorageError } from '../../src/errors.js';

async function makeLocal(extra: Record<string, unknown> = {}): Promise<{ backend: LocalBackend; dir: string }> {
  const dir = await mkdtemp(path.join(tmpdir(), 'flux-paths-'));
  return { backend: new LocalBackend(v.parse(localOptionsSchema, { type: 'local', root: dir, ...extra })), dir };
}

async function failure(promise: Promise<unknown>): Promise<StorageError> {
  try {
    await promise;
  } catch (error) {
    expect(error).toBeInstanceOf(StorageError);
    return error as StorageError;
  }
  throw new Error('expected a failure');
}

describe('keys and their folders', () => {
  it('a key at the top of the root and a key one letter deep land in their own files', async () => {
    const { backend, dir } = await makeLocal();
    await backend.write('top.ts', Buffer.from('top'));
    await backend.write('a/b.ts', Buffer.from('deep'));
    expect((await readdir(dir)).sort()).toEqual(['.flux-storage', 'a', 'top.ts']);
    expect(await readdir(path.join(dir, 'a'))).toEqual(['b.ts']);
    expect((await backend.read('top.ts')).toString()).toBe('top');
    expect((await backend.read('a/b.ts')).toString()).toBe('deep');
    expect(await backend.stat('top.ts')).toMatchObject({ key: 'top.ts', size: 3 });
  });

  it('a missing object is NotFound naming the key and the backend', async () => {
    const { backend } = await makeLocal();
    await backend.write('hls/cam1/segment_1.ts', Buffer.from('x'));
    for (const key of ['hls/cam1/segment_2.ts', 'hls/cam2/segment_1.ts', 'nothing.ts']) {
      const error = await failure(backend.read(key));
      expect(error).toMatchObject({ code: 'NotFound', detail: 'no such object', key, backend: 'local' });
    }
  });

  it('a file where a folder of the key should be is NotFound, for reads and stat', async () => {
    const { backend, dir } = await makeLocal();
    await writeFile(path.join(dir, 'hls'), 'a file, not a folder');
    expect(await failure(backend.read('hls/cam1/segment_1.ts'))).toMatchObject({ code: 'NotFound', key: 'hls/cam1/segment_1.ts' });
    expect(await backend.exists('hls/cam1/segment_1.ts')).toBe(false);
  });

  it('a symlink loop in a key’s folder is never followed: NotFound, and a write is refused', async () => {
    const { backend, dir } = await makeLocal();
    await symlink(path.join(dir, 'loop'), path.join(dir, 'loop'));
    expect(await failure(backend.read('loop/segment_1.ts'))).toMatchObject({ code: 'NotFound' });
    expect(await backend.exists('loop/segment_1.ts')).toBe(false);
    expect(await failure(backend.write('loop/segment_1.ts', Buffer.from('x')))).toMatchObject({ code: 'Unsupported', key: 'loop' });
  });

  it('a key that is itself a symlink, or not a regular file, reads as NotFound saying why', async () => {
    const { backend, dir } = await makeLocal();
    const outside = await mkdtemp(path.join(tmpdir(), 'flux-outside-'));
    await writeFile(path.join(outside, 'secret.ts'), 'outside');
    await mkdir(path.join(dir, 'hls/cam1/segment_2.ts'), { recursive: true });
    await symlink(path.join(outside, 'secret.ts'), path.join(dir, 'hls/cam1/segment_1.ts'));
    expect(await failure(backend.read('hls/cam1/segment_1.ts'))).toMatchObject({
      code: 'NotFound',
      detail: 'no such object (a symlink, which the local backend does not follow)',
      key: 'hls/cam1/segment_1.ts',
      backend: 'local',
    });
    expect(await failure(backend.read('hls/cam1/segment_2.ts'))).toMatchObject({ code: 'NotFound', detail: 'no such object (not a regular file)', key: 'hls/cam1/segment_2.ts', backend: 'local' });
    await rm(outside, { recursive: true });
  });
});

describe('symlinked folders are refused, naming the folder', () => {
  it('a folder several levels up that is a symlink: nothing is created through it', async () => {
    const { backend, dir } = await makeLocal();
    const outside = await mkdtemp(path.join(tmpdir(), 'flux-outside-'));
    await symlink(outside, path.join(dir, 'hls'));
    const error = await failure(backend.write('hls/cam1/deep/segment_1.ts', Buffer.from('x')));
    expect(error).toMatchObject({ code: 'Unsupported', key: 'hls', backend: 'local', retryable: false });
    expect(error.detail).toBe(`hls (under ${dir}) is, or passes through, a symlink: the local backend never follows symlinks; make it a real folder`);
    expect(await readdir(outside)).toEqual([]);
    await rm(outside, { recursive: true });
  });

  it('the folder of the key itself being a symlink is refused, and the link’s target stays empty', async () => {
    const { backend, dir } = await makeLocal();
    const outside = await mkdtemp(path.join(tmpdir(), 'flux-outside-'));
    await mkdir(path.join(dir, 'hls'));
    await symlink(outside, path.join(dir, 'hls/cam1'));
    expect(await failure(backend.write('hls/cam1/segment_1.ts', Buffer.from('x')))).toMatchObject({ code: 'Unsupported', key: 'hls/cam1' });
    expect(await readdir(outside)).toEqual([]);
    await rm(outside, { recursive: true });
  });
});

describe('the root', () => {
  it('with createRoot, reads and listings of a missing root create nothing; the first write creates it', async () => {
    const base = await mkdtemp(path.join(tmpdir(), 'flux-paths-'));
    const root = path.join(base, 'store');
    const backend = new LocalBackend(v.parse(localOptionsSchema, { type: 'local', root, createRoot: true }));
    expect(await failure(backend.read('hls/cam1/segment_1.ts'))).toMatchObject({ code: 'NotFound' });
    expect(await backend.exists('hls/cam1/segment_1.ts')).toBe(false);
    for await (const entry of backend.list('hls/')) throw new Error(`listed ${entry.key}`);
    expect(existsSync(root)).toBe(false);
    await backend.write('hls/cam1/segment_1.ts', Buffer.from('x'));
    expect((await backend.read('hls/cam1/segment_1.ts')).toString()).toBe('x');
  });

  it('with createRoot, a root that went away after it was found is made again by the next write, its parents too', async () => {
    const base = await mkdtemp(path.join(tmpdir(), 'flux-paths-'));
    const root = path.join(base, 'disk', 'store');
    const backend = new LocalBackend(v.parse(localOptionsSchema, { type: 'local', root, createRoot: true }));
    await backend.write('hls/cam1/segment_1.ts', Buffer.from('x'));
    await rm(path.join(base, 'disk'), { recursive: true });
    await backend.write('hls/cam2/segment_1.ts', Buffer.from('y'));
    expect((await backend.read('hls/cam2/segment_1.ts')).toString()).toBe('y');
  });

  it('with createRoot, a root replaced by a symlink is still refused, not written through', async () => {
    const { backend, dir } = await makeLocal({ createRoot: true });
    const elsewhere = await mkdtemp(path.join(tmpdir(), 'flux-elsewhere-'));
    await backend.write('a.ts', Buffer.from('x'));
    await rm(dir, { recursive: true });
    await symlink(elsewhere, dir);
    expect(await failure(backend.write('new/segment_1.ts', Buffer.from('y')))).toMatchObject({ code: 'Unsupported', key: undefined });
    expect(await readdir(elsewhere)).toEqual([]);
    await rm(dir);
    await rm(elsewhere, { recursive: true });
  });

  it('without createRoot, a root that went away is not made again by a write of a new folder', async () => {
    const { backend, dir } = await makeLocal();
    await backend.write('a.ts', Buffer.from('x'));
    await rm(dir, { recursive: true });
    const error = await failure(backend.write('new/folder/segment_1.ts', Buffer.from('y')));
    expect(error).toMatchObject({ code: 'Unavailable', retryable: false });
    expect(error.detail).toBe(`the root ${dir} does not exist: create it (or mount its disk), or set "createRoot": true on the pool's backend`);
    expect(existsSync(dir)).toBe(false);
  });

  it('a root replaced by a symlink after it was found is refused, naming the root', async () => {
    const { backend, dir } = await makeLocal();
    const elsewhere = await mkdtemp(path.join(tmpdir(), 'flux-elsewhere-'));
    await backend.write('a.ts', Buffer.from('x'));
    await rm(dir, { recursive: true });
    await symlink(elsewhere, dir);
    const error = await failure(backend.write('new/segment_1.ts', Buffer.from('y')));
    expect(error).toMatchObject({ code: 'Unsupported', key: undefined, retryable: false });
    expect(error.detail).toBe(`the root ${dir} is, or passes through, a symlink: the local backend never follows symlinks; make it a real folder`);
    expect(await readdir(elsewhere)).toEqual([]);
    await rm(dir);
    await rm(elsewhere, { recursive: true });
  });

  it('a root that is a regular file, from the start or after it was found, is Unavailable naming it', async () => {
    const base = await mkdtemp(path.join(tmpdir(), 'flux-paths-'));
    const file = path.join(base, 'not-a-dir');
    await writeFile(file, 'x');
    const fromStart = new LocalBackend(v.parse(localOptionsSchema, { type: 'local', root: file }));
    for (const call of [fromStart.read('hls/s/segment_1.ts'), fromStart.write('hls/s/segment_1.ts', Buffer.from('x'))]) {
      expect(await failure(call)).toMatchObject({ code: 'Unavailable', detail: `the root ${file} is not a directory`, backend: 'local', retryable: false });
    }
    const { backend, dir } = await makeLocal();
    await backend.write('hls/s/segment_1.ts', Buffer.from('x'));
    await rm(dir, { recursive: true });
    await writeFile(dir, 'now a file');
    expect(await failure(backend.read('hls/s/segment_1.ts'))).toMatchObject({ code: 'Unavailable', detail: `the root ${dir} is not a directory`, retryable: false });
  });

  it('a root under a regular file cannot be read, and says so', async () => {
    const base = await mkdtemp(path.join(tmpdir(), 'flux-paths-'));
    await writeFile(path.join(base, 'file'), 'x');
    const root = path.join(base, 'file', 'store');
    const backend = new LocalBackend(v.parse(localOptionsSchema, { type: 'local', root }));
    const error = await failure(backend.read('hls/s/segment_1.ts'));
    expect(error).toMatchObject({ code: 'Unavailable', detail: `the root ${root} cannot be read (ENOTDIR)`, retryable: false });
    // After it was found: its parent folder replaced by a file.
    const { backend: found, dir } = await makeLocal();
    await found.write('hls/s/segment_1.ts', Buffer.from('x'));
    await rm(dir, { recursive: true });
    await writeFile(dir, 'x');
    expect(await failure(found.read('hls/s/segment_1.ts'))).toMatchObject({ code: 'Unavailable', detail: `the root ${dir} is not a directory` });
  });

  it('the filesystem root is refused as ConfigInvalid, naming the configured root', () => {
    let error: unknown;
    try {
      new LocalBackend({ type: 'local', root: '../../../../../../../../..', fsync: false, concurrency: 1 }, { baseDir: '/tmp/a' });
    } catch (caught) {
      error = caught;
    }
    expect(error).toMatchObject({ code: 'ConfigInvalid', backend: 'local', detail: 'root "../../../../../../../../.." is the filesystem root: name a folder for the segments' });
  });
});
