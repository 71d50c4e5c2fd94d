// What a StoragePool reports about its calls (src/pool/pool.ts; the mutants Stryker found
// unasserted, test/MUTATION.md), on local pools: every operation to its listeners (the CLI's
// --verbose), with its kind, key, a duration and the error; deletes to the location cache; bytes
// and failures into the metrics; and the probe (write, read back, delete on a writable pool; only a
// stat on a read-only one, which is never written).

import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { LocalBackend } from '../../src/backends/local/index.js';
import { StorageError } from '../../src/errors.js';
import { POOL_DEFAULTS, StoragePool, type PoolOperation } from '../../src/pool/pool.js';

async function pool(extra: { readOnly?: boolean; root?: string } = {}) {
  const root = extra.root ?? (await mkdtemp(path.join(tmpdir(), 'flux-ops-')));
  const made = new StoragePool({ ...POOL_DEFAULTS, name: 'disk', retries: 0, readOnly: extra.readOnly ?? false }, new LocalBackend({ type: 'local', root, fsync: false, concurrency: 4 }));
  const ops: PoolOperation[] = [];
  const deletes: string[][] = [];
  made.onOperation((op) => ops.push(op));
  made.onDelete((keys) => deletes.push([...keys]));
  return { pool: made, root, ops, deletes };
}

async function brokenPool() {
  const file = path.join(await mkdtemp(path.join(tmpdir(), 'flux-ops-')), 'file');
  await writeFile(file, 'not a folder');
  return pool({ root: file });
}

const sane = (op: PoolOperation): boolean => op.durationMs >= 0 && op.durationMs < 60_000;

describe('a pool tells its listeners of every operation', () => {
  it('names each kind, its key and a duration; no error when it succeeded', async () => {
    const p = await pool();
    expect(p.pool.type).toBe('local');
    await p.pool.write('hls/a/1.ts', Buffer.from('abc'));
    await p.pool.read('hls/a/1.ts');
    await p.pool.exists('hls/a/1.ts');
    await p.pool.stat('hls/a/1.ts');
    for await (const entry of p.pool.list('hls/')) void entry;
    for await (const chunk of p.pool.readStream('hls/a/1.ts')) void chunk;
    await p.pool.delete('hls/a/1.ts');
    await p.pool.write('hls/a/2.ts', Buffer.from('d'));
    const many = await p.pool.deleteMany(['hls/a/2.ts', 'hls/a/3.ts']);
    expect(many.failed).toEqual([]);
    expect(p.ops.map((o) => `${o.op} ${o.key}`)).toEqual(['write hls/a/1.ts', 'read hls/a/1.ts', 'exists hls/a/1.ts', 'stat hls/a/1.ts', 'list hls/', 'delete hls/a/1.ts', 'write hls/a/2.ts', ...many.deleted.map((k) => `delete ${k}`)]);
    expect(p.ops.every((o) => o.pool === 'disk' && sane(o) && !('error' in o))).toBe(true);
    expect(p.deletes).toEqual([['hls/a/1.ts'], many.deleted]);
  });

  it('names the error, with the pool, of an operation that failed, and counts it in the metrics', async () => {
    const p = await brokenPool();
    await expect(p.pool.read('hls/a/1.ts')).rejects.toMatchObject({ code: 'Unavailable', pool: 'disk' });
    await expect((async () => {
      for await (const entry of p.pool.list('hls/')) void entry;
    })()).rejects.toMatchObject({ code: 'Unavailable', pool: 'disk', key: 'hls/' });
    // The local backend fails a batch key by key, several at once (so in no set order): each
    // failure named with the pool and its key.
    const many = await p.pool.deleteMany(['hls/a/1.ts', 'hls/a/2.ts']);
    expect(many.deleted).toEqual([]);
    expect(many.failed.map(({ key, error }) => [key, (error as StorageError).code, (error as StorageError).pool, (error as StorageError).key].join(' ')).sort()).toEqual(['hls/a/1.ts Unavailable disk hls/a/1.ts', 'hls/a/2.ts Unavailable disk hls/a/2.ts']);
    const described = p.ops.map((o) => `${o.op} ${o.key} ${o.error?.code} ${o.error?.pool}`);
    expect([...described.slice(0, 2), ...described.slice(2).sort()]).toEqual([
      'read hls/a/1.ts Unavailable disk',
      'list hls/ Unavailable disk',
      'delete hls/a/1.ts Unavailable disk',
      'delete hls/a/2.ts Unavailable disk',
    ]);
    expect(p.ops.every(sane)).toBe(true);
    expect(p.deletes).toEqual([]);
    expect(p.pool.metrics()).toMatchObject({ operations: 3, errors: 2 });
    expect(p.pool.metrics().latencyMs.p95!).toBeLessThan(60_000);
  });

  it('counts a listing, a streamed read and their bytes in the metrics; a missing key is not an error', async () => {
    const p = await pool();
    await p.pool.write('hls/a/1.ts', Buffer.alloc(100, 1));
    for await (const entry of p.pool.list('hls/')) void entry;
    for await (const chunk of p.pool.readStream('hls/a/1.ts')) void chunk;
    await expect(p.pool.read('hls/a/404.ts')).rejects.toMatchObject({ code: 'NotFound' });
    await expect((async () => {
      for await (const chunk of p.pool.readStream('hls/a/404.ts')) void chunk;
    })()).rejects.toMatchObject({ code: 'NotFound' });
    expect(p.pool.metrics()).toMatchObject({ operations: 5, errors: 0, bytesWritten: 100, bytesRead: 100 });
    const latency = p.pool.metrics().latencyMs;
    expect(latency.p95).toBeGreaterThanOrEqual(0);
    expect(latency.p95!).toBeLessThan(60_000);
  });
});

describe('a listing or a streamed read left early by its caller', () => {
  it('is still reported to the listeners and counted in the metrics, with the bytes read', async () => {
    const p = await pool();
    // Written beside the pool, so that its latency window holds only the calls timed here.
    await mkdir(path.join(p.root, 'hls/a'), { recursive: true });
    for (let i = 0; i < 3; i++) await writeFile(path.join(p.root, `hls/a/${i}.ts`), Buffer.alloc(100, 1));
    const before = p.pool.metrics().operations;
    const started = performance.now();
    for await (const entry of p.pool.list('hls/')) {
      void entry;
      break;
    }
    expect(p.ops.map((o) => `${o.op} ${o.key} ${o.error === undefined ? 'ok' : o.error.code}`)).toEqual(['list hls/ ok']);
    const bytesRead = p.pool.metrics().bytesRead;
    for await (const chunk of p.pool.readStream('hls/a/0.ts', { start: 0, end: 9 })) {
      void chunk;
      break;
    }
    await expect((async () => {
      for await (const chunk of p.pool.readStream('hls/a/404.ts')) void chunk;
    })()).rejects.toMatchObject({ code: 'NotFound' });
    const elapsed = performance.now() - started;
    expect(p.pool.metrics()).toMatchObject({ operations: before + 3, errors: 0, bytesRead: bytesRead + 10 });
    // No duration longer than the test saw pass (the window's p95 is its largest latency).
    expect(p.ops[0]!.durationMs).toBeGreaterThanOrEqual(0);
    expect(p.ops[0]!.durationMs).toBeLessThanOrEqual(elapsed);
    const p95 = p.pool.metrics().latencyMs.p95!;
    expect(p95).toBeGreaterThanOrEqual(0);
    expect(p95).toBeLessThanOrEqual(elapsed);
  });
});

describe('the probe', () => {
  it('of a writable pool writes, reads back and deletes its object, and is kept as the last probe', async () => {
    const p = await pool();
    expect(p.pool.lastProbe).toBeUndefined();
    const result = await p.pool.probe();
    expect(result).toMatchObject({ ok: true, mode: 'read-write' });
    expect(result.latencyMs).toBeGreaterThanOrEqual(0);
    expect(result.latencyMs).toBeLessThan(60_000);
    expect(p.pool.lastProbe).toBe(result);
    // Its object is gone again, under the reserved folder.
    expect(await readdir(path.join(p.root, '.flux-storage/probe'))).toEqual([]);
    expect(p.pool.metrics()).toMatchObject({ operations: 1, errors: 0 });
  });

  it('of a read-only pool writes nothing: a stat of a key that is not there answers', async () => {
    const p = await pool({ readOnly: true });
    const result = await p.pool.probe();
    expect(result).toMatchObject({ ok: true, mode: 'read-only' });
    expect(existsSync(path.join(p.root, '.flux-storage'))).toBe(false);
  });

  it('that fails names the pool, opens the breaker, and counts as an error', async () => {
    for (const readOnly of [false, true]) {
      const file = path.join(await mkdtemp(path.join(tmpdir(), 'flux-ops-')), 'file');
      await writeFile(file, 'x');
      const p = await pool({ root: file, readOnly });
      const result = await p.pool.probe();
      expect(result).toMatchObject({ ok: false, mode: readOnly ? 'read-only' : 'read-write', error: { code: 'Unavailable', pool: 'disk' } });
      expect(p.pool.breakerState).toBe('open');
      expect(result.latencyMs).toBeGreaterThanOrEqual(0);
      expect(result.latencyMs).toBeLessThan(60_000);
      expect(p.pool.metrics()).toMatchObject({ operations: 1, errors: 1 });
    }
  });
});
