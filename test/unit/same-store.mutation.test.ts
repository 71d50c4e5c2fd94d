// sameStore (src/pool/same-store.ts; the mutants Stryker found unasserted, test/MUTATION.md), on
// local pools, some of whose writes fail with a chosen code or whose read sees Ctrl-C arrive
// (in-process wrappers of a real local backend): the marker lives under the reserved prefix and
// is removed, an aborted check says what it was doing, a Ctrl-C during the read is never taken for
// an answer, and when no marker can be written the lasting failure is the code (a Timeout or a
// RateLimited is not), with the first failure as the cause.

import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { LocalBackend } from '../../src/backends/local/index.js';
import type { ReadOptions, StorageBackend } from '../../src/backends/types.js';
import { StorageError, type StorageErrorCode } from '../../src/errors.js';
import { POOL_DEFAULTS, StoragePool, type PoolOperation } from '../../src/pool/pool.js';
import { sameStore } from '../../src/pool/same-store.js';

async function local(): Promise<LocalBackend> {
  return new LocalBackend({ type: 'local', root: await mkdtemp(path.join(tmpdir(), 'flux-same-')), fsync: false, concurrency: 4 });
}

function pool(name: string, backend: StorageBackend): StoragePool {
  return new StoragePool({ ...POOL_DEFAULTS, name, retries: 0 }, backend);
}

/** A local pool whose writes fail with `code`. */
async function failingWrites(name: string, code: StorageErrorCode): Promise<StoragePool> {
  const inner = await local();
  return pool(
    name,
    Object.assign(Object.create(inner) as StorageBackend, {
      type: inner.type,
      capabilities: inner.capabilities,
      write: async () => {
        throw new StorageError(code, `${name} fails with ${code}`);
      },
    }),
  );
}

describe('sameStore', () => {
  it("writes its marker under flux-storage's reserved prefix and deletes it again", async () => {
    const backend = await local();
    const [a, b] = [pool('a', backend), pool('b', await local())];
    const ops: PoolOperation[] = [];
    a.onOperation((op) => ops.push(op));
    expect(await sameStore(a, b)).toBe(false);
    expect(ops.map((op) => op.op)).toEqual(['write', 'delete']);
    expect(ops[0]!.key).toMatch(/^\.flux-storage\/same-store\/[a-z0-9]+-\d+-[a-z0-9]{10}$/);
    expect(ops[1]!.key).toBe(ops[0]!.key);
  });

  it('with an aborted signal says what it was interrupted doing', async () => {
    const [a, b] = [pool('a', await local()), pool('b', await local())];
    await expect(sameStore(a, b, { signal: AbortSignal.abort() })).rejects.toMatchObject({
      code: 'Interrupted',
      detail: 'interrupted while checking whether pools "a" and "b" are one store',
    });
  });

  it('takes a Ctrl-C during the read of the marker for no answer: Interrupted, not "two stores"', async () => {
    const controller = new AbortController();
    const inner = await local();
    // The read sees Ctrl-C arrive, and honours the signal it was given, as the backends do.
    const reader = Object.assign(Object.create(inner) as StorageBackend, {
      type: inner.type,
      capabilities: inner.capabilities,
      read: async (key: string, options?: ReadOptions) => {
        controller.abort();
        if (options?.signal?.aborted === true) throw new StorageError('Interrupted', `read ${key} was interrupted`);
        return inner.read(key, options);
      },
    });
    const [a, b] = [pool('a', await local()), pool('b', reader)];
    await expect(sameStore(a, b, { signal: controller.signal })).rejects.toMatchObject({ code: 'Interrupted' });
  });

  it('that can write no marker: the lasting cause is the code, not a Timeout, RateLimited or Unavailable; the first failure is the cause', async () => {
    for (const [first, second, expected] of [
      ['Timeout', 'PermissionDenied', 'PermissionDenied'],
      ['PermissionDenied', 'Timeout', 'PermissionDenied'],
      ['RateLimited', 'PermissionDenied', 'PermissionDenied'],
      ['Unavailable', 'PermissionDenied', 'PermissionDenied'],
      ['Unavailable', 'Timeout', 'Unavailable'],
      ['Timeout', 'RateLimited', 'Timeout'],
    ] as const) {
      const a = await failingWrites('a', first);
      const b = await failingWrites('b', second);
      const error = (await sameStore(a, b).catch((e: unknown) => e)) as StorageError;
      expect(error.code, `${first} + ${second}`).toBe(expected);
      expect(error.detail).toMatch(new RegExp(`^cannot tell whether pools "a" and "b" are one store: no marker object could be written \\(.*a fails with ${first}.*; .*b fails with ${second}\\)$`));
      expect(error.cause).toMatchObject({ code: first, pool: 'a' });
    }
  });
});
