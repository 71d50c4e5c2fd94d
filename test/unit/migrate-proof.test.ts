// What migrate proves before it deletes a source, against real local folders whose disk misbehaves:
// a destination that keeps other bytes than it was given (a faulty disk or driver: the write
// succeeds, no md5 is reported) and a source whose reads come back short.

import { mkdtemp, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { LocalBackend } from '../../src/backends/local/index.js';
import type { ReadOptions, StorageBackend, WriteOptions, WriteReceipt } from '../../src/backends/types.js';
import { migrate } from '../../src/migrate/migrate.js';
import { POOL_DEFAULTS, StoragePool } from '../../src/pool/pool.js';
import { SegmentLayout } from '../../src/segments/layout.js';

async function localBackend(): Promise<LocalBackend> {
  const root = await mkdtemp(path.join(tmpdir(), 'flux-proof-'));
  return new LocalBackend({ type: 'local', root, fsync: false, concurrency: 8 } as ConstructorParameters<typeof LocalBackend>[0]);
}

/** A real local backend whose disk flips a byte of every segment it stores (the probe marker aside). */
function flipsBytesOnWrite(backend: LocalBackend): StorageBackend {
  return Object.assign(Object.create(backend) as StorageBackend, {
    write: (key: string, data: Uint8Array, options?: WriteOptions): Promise<WriteReceipt> => {
      if (!key.endsWith('.ts') || data.length === 0) return backend.write(key, data, options);
      const stored = Buffer.from(data);
      stored[0] = stored[0]! ^ 0xff;
      return backend.write(key, stored, options);
    },
  });
}

/** A real local backend whose reads of segments come back one byte short (a faulty read). */
function shortReads(backend: LocalBackend): StorageBackend {
  return Object.assign(Object.create(backend) as StorageBackend, {
    read: async (key: string, options?: ReadOptions): Promise<Buffer> => {
      const data = await backend.read(key, options);
      return key.endsWith('.ts') ? data.subarray(0, data.length - 1) : data;
    },
  });
}

const pool = (name: string, backend: StorageBackend): StoragePool => new StoragePool({ ...POOL_DEFAULTS, name, retries: 0 }, backend);
const options = { layout: new SegmentLayout(), concurrency: 2, dryRun: false, checksum: false };

describe('migrate proves each copy before deleting its source', () => {
  it('a copy that a faulty disk stored with other bytes is a verify failure, and its source is kept', async () => {
    const source = await localBackend();
    const key = 'hls/cam1/segment_1.ts';
    await source.write(key, Buffer.from('the only copy'));
    const faulty = await localBackend();
    const summary = await migrate({ ...options, from: pool('src', source), to: pool('dst', flipsBytesOnWrite(faulty)), deleteSource: true });
    expect(summary).toMatchObject({ copied: 0, deleted: 0, failed: 1 });
    expect(summary.failures[0]).toMatchObject({ key, stage: 'verify', error: { code: 'Corrupt' } });
    expect((await readFile(path.join(source.root, key))).toString()).toBe('the only copy');
  });

  it('without --delete-source nothing is deleted, so the size check is the copy check (the cheap path)', async () => {
    const source = await localBackend();
    await source.write('hls/cam1/segment_1.ts', Buffer.from('bytes'));
    const summary = await migrate({ ...options, from: pool('src', source), to: pool('dst', flipsBytesOnWrite(await localBackend())), deleteSource: false });
    expect(summary).toMatchObject({ copied: 1, failed: 0 });
    // --checksum reads every copy back.
    const checked = await migrate({ ...options, checksum: true, from: pool('src', source), to: pool('dst2', flipsBytesOnWrite(await localBackend())), deleteSource: false });
    expect(checked.failures[0]).toMatchObject({ stage: 'verify', error: { code: 'Corrupt' } });
  });

  it('bytes read that do not match the size the source lists are Corrupt: written nowhere, source kept', async () => {
    const source = await localBackend();
    const key = 'hls/cam1/segment_1.ts';
    await source.write(key, Buffer.from('twelve bytes'));
    const destination = await localBackend();
    const summary = await migrate({ ...options, from: pool('src', shortReads(source)), to: pool('dst', destination), deleteSource: true });
    expect(summary).toMatchObject({ copied: 0, deleted: 0, failed: 1 });
    expect(summary.failures[0]).toMatchObject({ key, stage: 'read', error: { code: 'Corrupt', pool: 'src' } });
    expect(await destination.exists(key)).toBe(false);
    expect(await source.exists(key)).toBe(true);
  });
});
