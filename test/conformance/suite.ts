// The one conformance suite: every backend runs it unchanged, from test/backends/<type>.test.ts.
// Each case checks one sentence of the StorageBackend contract (src/backends/types.ts).

import { createHash, randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it, type TestContext } from 'vitest';
import type { BackendCapabilities, StorageBackend } from '../../src/backends/types.js';
import { isStorageError } from '../../src/errors.js';

export interface ConformanceFixture {
  /** A backend whose keys all live under a fresh, random root for this run. */
  backend: StorageBackend;
  /** Removes what the run wrote and stops anything started for it. */
  cleanup(): Promise<void>;
  /** Stores with symlinks (a filesystem): makes them, for the symlink cases. */
  symlinks?: SymlinkMaker;
}

/** What the symlink cases need of a store that has symlinks. */
export interface SymlinkMaker {
  /** A folder outside the backend's root, for link targets that must stay untouched. */
  outside: string;
  /** Makes `key` (a file or folder position under the root) a symlink to `target` (an absolute path). */
  link(key: string, target: string): Promise<void>;
  /** The absolute path of a key under the root (to link to a place inside it). */
  pathOf(key: string): string;
}

export interface ConformanceOptions {
  /** The store has symlinks: the fixture gives `symlinks`, and the symlink cases run (else they show as skipped). */
  symlinks?: boolean;
}

async function collect(iterable: AsyncIterable<{ key: string }>): Promise<string[]> {
  const keys: string[] = [];
  for await (const entry of iterable) keys.push(entry.key);
  return keys.sort();
}

async function expectCode(promise: Promise<unknown>, code: string): Promise<void> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(isStorageError(error), `expected a StorageError ${code}, got ${String(error)}`).toBe(true);
  expect((error as { code: string }).code).toBe(code);
}

export function runConformance(name: string, makeFixture: () => Promise<ConformanceFixture>, options: ConformanceOptions = {}): void {
  describe(`conformance: ${name}`, () => {
    let fixture: ConformanceFixture;
    let backend: StorageBackend;
    const root = `conf-${randomBytes(4).toString('hex')}`;
    const key = (rest: string): string => `${root}/${rest}`;
    /** A case about a capability runs for the backends that have it (or lack it) and shows as skipped for the others. */
    const onlyIf = (ctx: TestContext, capability: keyof BackendCapabilities, present = true): void =>
      ctx.skip(Boolean(backend.capabilities[capability]) !== present, `${name} ${present ? 'lacks' : 'has'} the ${capability} capability`);

    beforeAll(async () => {
      fixture = await makeFixture();
      backend = fixture.backend;
    }, 30_000);
    afterAll(async () => {
      await fixture?.cleanup();
    }, 30_000);

    it('reads back exactly the bytes written, binary included', async () => {
      const data = randomBytes(70_000);
      data[0] = 0x47; // an MPEG-TS sync byte, and every other byte value somewhere in the rest
      await backend.write(key('rw/segment_1.ts'), data);
      const back = await backend.read(key('rw/segment_1.ts'));
      expect(Buffer.isBuffer(back)).toBe(true);
      expect(back.equals(data)).toBe(true);
    });

    it('a write receipt reports the md5 of the data (md5)', async (ctx) => {
      onlyIf(ctx, 'md5');
      const data = randomBytes(4321);
      const receipt = await backend.write(key('rw/receipt.ts'), data);
      expect(receipt.md5).toBe(createHash('md5').update(data).digest('hex'));
    });

    it('a write told the md5 of its data stores the data (and reports that md5 where it reports one)', async () => {
      const data = randomBytes(3210);
      const md5 = createHash('md5').update(data).digest('hex');
      const receipt = await backend.write(key('rw/with-md5.ts'), data, { md5 });
      if (backend.capabilities.md5) expect(receipt.md5).toBe(md5);
      expect((await backend.read(key('rw/with-md5.ts'))).equals(data)).toBe(true);
    });

    it('a write told a wrong md5 is refused: Corrupt, the old object kept (checksWriteMd5)', async (ctx) => {
      onlyIf(ctx, 'checksWriteMd5');
      await backend.write(key('rw/wrong-md5.ts'), Buffer.from('old'));
      const wrong = createHash('md5').update('other bytes').digest('hex');
      const outcome = await backend.write(key('rw/wrong-md5.ts'), randomBytes(3000), { md5: wrong }).catch((e: unknown) => e);
      expect(isStorageError(outcome) && outcome.code).toBe('Corrupt');
      expect((await backend.read(key('rw/wrong-md5.ts'))).toString()).toBe('old');
    });

    it('a write told a wrong md5 stores the data where the store does not check it (no checksWriteMd5)', async (ctx) => {
      onlyIf(ctx, 'checksWriteMd5', false);
      await backend.write(key('rw/unchecked-md5.ts'), Buffer.from('old'));
      const data = randomBytes(3000);
      const wrong = createHash('md5').update('other bytes').digest('hex');
      await backend.write(key('rw/unchecked-md5.ts'), data, { md5: wrong });
      expect((await backend.read(key('rw/unchecked-md5.ts'))).equals(data)).toBe(true);
    });

    it('a read offered a buffer returns exactly the object, in it or in a new one', async () => {
      const data = randomBytes(5000);
      await backend.write(key('rw/into.ts'), data);
      const roomy = Buffer.alloc(8192, 0xee);
      expect((await backend.read(key('rw/into.ts'), { into: roomy })).equals(data)).toBe(true);
      const exact = Buffer.alloc(5000, 0xee);
      expect((await backend.read(key('rw/into.ts'), { into: exact })).equals(data)).toBe(true);
      const small = Buffer.alloc(100, 0xee);
      expect((await backend.read(key('rw/into.ts'), { into: small })).equals(data)).toBe(true);
      await backend.write(key('rw/into-empty.ts'), new Uint8Array(0));
      expect((await backend.read(key('rw/into-empty.ts'), { into: roomy })).length).toBe(0);
    });

    it('writes an empty object and reads it back empty', async () => {
      await backend.write(key('rw/empty.ts'), new Uint8Array(0));
      expect((await backend.read(key('rw/empty.ts'))).length).toBe(0);
      expect((await backend.stat(key('rw/empty.ts'))).size).toBe(0);
    });

    it('replaces an existing object on write', async () => {
      await backend.write(key('rw/replace.ts'), Buffer.from('first version, longer'));
      await backend.write(key('rw/replace.ts'), Buffer.from('second'));
      expect((await backend.read(key('rw/replace.ts'))).toString()).toBe('second');
    });

    it('creates missing parent folders on write', async () => {
      await backend.write(key('deep/a/b/c/d.ts'), Buffer.from('x'));
      expect(await backend.exists(key('deep/a/b/c/d.ts'))).toBe(true);
    });

    it('throws NotFound when reading a missing key', async () => {
      await expectCode(backend.read(key('missing/segment_9.ts')), 'NotFound');
    });

    it('throws NotFound from stat of a missing key', async () => {
      await expectCode(backend.stat(key('missing/segment_9.ts')), 'NotFound');
    });

    it('exists() is true for a written key and false for a missing one', async () => {
      await backend.write(key('ex/here.ts'), Buffer.from('here'));
      expect(await backend.exists(key('ex/here.ts'))).toBe(true);
      expect(await backend.exists(key('ex/absent.ts'))).toBe(false);
      expect(await backend.exists(key('no-such-folder/absent.ts'))).toBe(false);
    });

    it('stat() reports size and a recent modified time', async () => {
      const data = randomBytes(1234);
      const before = Date.now();
      await backend.write(key('st/obj.ts'), data);
      const info = await backend.stat(key('st/obj.ts'));
      expect(info.key).toBe(key('st/obj.ts'));
      expect(info.size).toBe(1234);
      expect(info.modified).toBeInstanceOf(Date);
      expect(Math.abs(info.modified.getTime() - before)).toBeLessThan(120_000);
    });

    it('stat() and list() report the md5 of the data (md5)', async (ctx) => {
      onlyIf(ctx, 'md5');
      const data = randomBytes(1234);
      const md5 = createHash('md5').update(data).digest('hex');
      await backend.write(key('st-md5/obj.ts'), data);
      expect((await backend.stat(key('st-md5/obj.ts'))).md5).toBe(md5);
      const listed: (string | undefined)[] = [];
      for await (const entry of backend.list(key('st-md5/'))) listed.push(entry.md5);
      expect(listed).toEqual([md5]);
    });

    it('deletes a key, after which it is gone', async () => {
      await backend.write(key('del/one.ts'), Buffer.from('1'));
      await backend.delete(key('del/one.ts'));
      expect(await backend.exists(key('del/one.ts'))).toBe(false);
      await expectCode(backend.read(key('del/one.ts')), 'NotFound');
    });

    it('deleting a missing key succeeds', async () => {
      await expect(backend.delete(key('del/never-written.ts'))).resolves.toBeUndefined();
    });

    it('deleteMany removes every key given, missing ones counted as deleted', async () => {
      const keys = Array.from({ length: 25 }, (_, i) => key(`many/segment_${i}.ts`));
      for (const k of keys) await backend.write(k, Buffer.from(k));
      const result = await backend.deleteMany([...keys, key('many/never.ts')]);
      expect(result.failed).toEqual([]);
      expect(result.deleted.sort()).toEqual([...keys, key('many/never.ts')].sort());
      expect(await collect(backend.list(key('many/')))).toEqual([]);
    });

    it('lists every key under a prefix at any depth, as full keys with sizes', async () => {
      await backend.write(key('ls/s1/segment_1.ts'), Buffer.from('a'));
      await backend.write(key('ls/s1/segment_2.ts'), Buffer.from('bb'));
      await backend.write(key('ls/s2/sub/segment_3.ts'), Buffer.from('ccc'));
      await backend.write(key('lsx/segment_4.ts'), Buffer.from('dddd'));
      const entries: { key: string; size: number; modified: Date }[] = [];
      for await (const entry of backend.list(key('ls/'))) entries.push(entry);
      entries.sort((a, b) => a.key.localeCompare(b.key));
      expect(entries.map((e) => [e.key, e.size])).toEqual([
        [key('ls/s1/segment_1.ts'), 1],
        [key('ls/s1/segment_2.ts'), 2],
        [key('ls/s2/sub/segment_3.ts'), 3],
      ]);
      for (const entry of entries) expect(entry.modified).toBeInstanceOf(Date);
      expect(await collect(backend.list(key('ls/s1/')))).toEqual([key('ls/s1/segment_1.ts'), key('ls/s1/segment_2.ts')]);
    });

    it('a listing does not show a deleted key', async () => {
      await backend.write(key('lsd/a.ts'), Buffer.from('a'));
      await backend.write(key('lsd/b.ts'), Buffer.from('b'));
      await backend.delete(key('lsd/a.ts'));
      expect(await collect(backend.list(key('lsd/')))).toEqual([key('lsd/b.ts')]);
    });

    it('listing a missing prefix yields nothing', async () => {
      expect(await collect(backend.list(key('nothing-here/')))).toEqual([]);
    });

    it('lists a few hundred keys completely', async () => {
      const keys = Array.from({ length: 300 }, (_, i) => key(`bulk/segment_${i}.ts`));
      await Promise.all(keys.map((k) => backend.write(k, Buffer.from('x'))));
      expect(await collect(backend.list(key('bulk/')))).toEqual([...keys].sort());
    });

    it('lists in key order (UTF-8 byte order, a folder as its name and "/") where capabilities.orderedList', async (ctx) => {
      onlyIf(ctx, 'orderedList');
      const names = ['cam1/segment_2.ts', 'cam1/segment_10.ts', 'cam1-a/segment_1.ts', 'cam1.b/x.ts', 'cam10/segment_1.ts', 'cam1/deep/er/x.ts', 'cam0.ts', 'cam1a.ts', 'Z/x.ts', '_/x.ts', 'é/x.ts'];
      const keys = names.map((name) => key(`order/${name}`));
      for (const k of keys) await backend.write(k, Buffer.from('x'));
      const listed: string[] = [];
      for await (const entry of backend.list(key('order/'))) listed.push(entry.key);
      expect(listed).toEqual([...keys].sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b))));
    });

    it('keeps keys with spaces, plus signs, unicode and quotes intact', async () => {
      const odd = [key("odd/a b+c=d&e'f.ts"), key('odd/直播-流/segment_1.ts'), key('odd/%41.ts')];
      for (const k of odd) await backend.write(k, Buffer.from(k));
      expect(await collect(backend.list(key('odd/')))).toEqual([...odd].sort());
      for (const k of odd) expect((await backend.read(k)).toString()).toBe(k);
      const result = await backend.deleteMany(odd);
      expect(result.failed).toEqual([]);
      expect(await collect(backend.list(key('odd/')))).toEqual([]);
    });

    it('rejects unsafe keys with InvalidKey before any I/O', async () => {
      for (const bad of ['../escape.ts', `${root}/../../escape.ts`, '/abs.ts', `${root}/a\\b.ts`, `${root}/nul\0.ts`, `${root}//x.ts`, '', `${root}/./x.ts`, `${root}/dir/`]) {
        await expectCode(backend.write(bad, Buffer.from('x')), 'InvalidKey');
        await expectCode(backend.read(bad), 'InvalidKey');
      }
      await expectCode(collect(backend.list('no-trailing-slash')), 'InvalidKey');
    });

    it('usage() reports the bytes used, and a total no smaller where it knows one (usage)', async (ctx) => {
      onlyIf(ctx, 'usage');
      const usage = await backend.usage();
      expect(usage.usedBytes).toBeTypeOf('number');
      expect(usage.usedBytes).toBeGreaterThanOrEqual(0);
      if (usage.totalBytes !== null) expect(usage.totalBytes).toBeGreaterThanOrEqual(usage.usedBytes ?? 0);
    });

    it('usage() is all nulls without the usage capability', async (ctx) => {
      onlyIf(ctx, 'usage', false);
      expect(await backend.usage()).toEqual({ usedBytes: null, totalBytes: null });
    });

    describe.skipIf(options.symlinks !== true)('symlinks are never followed', () => {
      const links = (): SymlinkMaker => {
        if (fixture.symlinks === undefined) throw new Error(`${name}: runConformance was told the store has symlinks, but the fixture gives no symlinks maker`);
        return fixture.symlinks;
      };
      const outsideFile = async (name: string, text: string): Promise<string> => {
        const { writeFile } = await import('node:fs/promises');
        const file = `${links().outside}/${name}`;
        await writeFile(file, text);
        return file;
      };
      const fileText = async (file: string): Promise<string | null> => {
        const { readFile } = await import('node:fs/promises');
        return readFile(file, 'utf8').catch(() => null);
      };

      it('a segment file that links out of the root is not listed, read, stat\'ed or deleted', async () => {
        const target = await outsideFile('secret.ts', 'outside bytes');
        await backend.write(key('sl-file/segment_1.ts'), Buffer.from('inside'));
        await links().link(key('sl-file/segment_2.ts'), target);
        expect(await collect(backend.list(key('sl-file/')))).toEqual([key('sl-file/segment_1.ts')]);
        await expectCode(backend.read(key('sl-file/segment_2.ts')), 'NotFound');
        await expectCode(backend.read(key('sl-file/segment_2.ts'), { into: Buffer.alloc(100) }), 'NotFound');
        await expectCode(backend.stat(key('sl-file/segment_2.ts')), 'NotFound');
        expect(await backend.exists(key('sl-file/segment_2.ts'))).toBe(false);
        await backend.delete(key('sl-file/segment_2.ts'));
        expect((await backend.deleteMany([key('sl-file/segment_2.ts')])).failed).toEqual([]);
        expect(await fileText(target)).toBe('outside bytes');
      });

      it('a stream folder that links out of the root is not listed, read, deleted or written through', async () => {
        await outsideFile('segment_7.ts', 'outside segment');
        await backend.write(key('sl-dir/real/segment_1.ts'), Buffer.from('inside'));
        await links().link(key('sl-dir/linked'), links().outside);
        expect(await collect(backend.list(key('sl-dir/')))).toEqual([key('sl-dir/real/segment_1.ts')]);
        expect(await collect(backend.list(key('sl-dir/linked/')))).toEqual([]);
        await expectCode(backend.read(key('sl-dir/linked/segment_7.ts')), 'NotFound');
        expect(await backend.exists(key('sl-dir/linked/segment_7.ts'))).toBe(false);
        await backend.delete(key('sl-dir/linked/segment_7.ts'));
        expect((await backend.deleteMany([key('sl-dir/linked/segment_7.ts')])).failed).toEqual([]);
        expect(await fileText(`${links().outside}/segment_7.ts`)).toBe('outside segment');
        await expectCode(backend.write(key('sl-dir/linked/segment_8.ts'), Buffer.from('x')), 'Unsupported');
        await expectCode(backend.write(key('sl-dir/linked/deeper/segment_9.ts'), Buffer.from('x')), 'Unsupported');
        expect(await fileText(`${links().outside}/segment_8.ts`)).toBeNull();
        const { readdir } = await import('node:fs/promises');
        expect((await readdir(links().outside)).sort()).not.toContain('deeper');
      });

      it('a link to a place inside the root is treated the same: never followed', async () => {
        await backend.write(key('sl-in/cam1/segment_1.ts'), Buffer.from('real'));
        await links().link(key('sl-in/cam2'), links().pathOf(key('sl-in/cam1')));
        await links().link(key('sl-in/cam1/segment_2.ts'), links().pathOf(key('sl-in/cam1/segment_1.ts')));
        expect(await collect(backend.list(key('sl-in/')))).toEqual([key('sl-in/cam1/segment_1.ts')]);
        expect(await collect(backend.list(key('sl-in/cam2/')))).toEqual([]);
        await expectCode(backend.read(key('sl-in/cam2/segment_1.ts')), 'NotFound');
        await expectCode(backend.read(key('sl-in/cam1/segment_2.ts')), 'NotFound');
        await backend.delete(key('sl-in/cam2/segment_1.ts'));
        await backend.delete(key('sl-in/cam1/segment_2.ts'));
        expect((await backend.read(key('sl-in/cam1/segment_1.ts'))).toString()).toBe('real');
        // A write of a key that is a symlink replaces the link by the object; it never writes through it.
        await backend.write(key('sl-in/cam1/segment_2.ts'), Buffer.from('new'));
        expect((await backend.read(key('sl-in/cam1/segment_2.ts'))).toString()).toBe('new');
        expect((await backend.read(key('sl-in/cam1/segment_1.ts'))).toString()).toBe('real');
      });
    });

    it('readStream yields the whole object, a range of it, and nothing past its end', async () => {
      const data = randomBytes(300_000);
      await backend.write(key('stream/segment_1.ts'), data);
      const read = async (options?: { start?: number; end?: number }): Promise<Buffer> => {
        const chunks: Uint8Array[] = [];
        for await (const chunk of backend.readStream(key('stream/segment_1.ts'), options)) chunks.push(chunk);
        return Buffer.concat(chunks);
      };
      expect((await read()).equals(data)).toBe(true);
      expect((await read({ start: 1000, end: 1999 })).equals(data.subarray(1000, 2000))).toBe(true);
      expect((await read({ start: 299_990 })).equals(data.subarray(299_990))).toBe(true);
      expect((await read({ start: 299_000, end: 400_000 })).equals(data.subarray(299_000))).toBe(true);
      expect((await read({ start: 300_000 })).length).toBe(0);
      await backend.write(key('stream/empty.ts'), Buffer.alloc(0));
      const empty: Uint8Array[] = [];
      for await (const chunk of backend.readStream(key('stream/empty.ts'))) empty.push(chunk);
      expect(Buffer.concat(empty).length).toBe(0);
    });

    it('readStream of a missing key throws NotFound, and an early stop releases the read', async () => {
      const consume = async (k: string): Promise<void> => {
        for await (const chunk of backend.readStream(k)) expect(chunk).toBeDefined();
      };
      await expectCode(consume(key('stream/missing.ts')), 'NotFound');
      await backend.write(key('stream/big.ts'), randomBytes(2_000_000));
      for (let i = 0; i < 20; i++) {
        // Twenty reads given up after one chunk: none may hold a connection or a file open.
        for await (const chunk of backend.readStream(key('stream/big.ts'))) {
          expect(chunk.length).toBeGreaterThan(0);
          break;
        }
      }
      expect((await backend.read(key('stream/big.ts'))).length).toBe(2_000_000);
    });

    it('declares its type and capabilities', () => {
      expect(typeof backend.type).toBe('string');
      expect(backend.capabilities.maxBatchDelete).toBeGreaterThan(0);
    });
  });
}
