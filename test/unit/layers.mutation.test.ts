// The layers' promises that Stryker found unasserted (test/MUTATION.md): every method passes its
// result through all four layers; errors name the call (`read hls/cam1/segment_5.ts did not answer
// within 15000 ms`, `usage was interrupted`); a late answer after the deadline is not taken; a call
// that succeeded is never aborted afterwards; the retry layer's backoff doubles from its base with
// jitter, and it is skipped with retries 0 or an SDK that retries; the in-flight limit never loses
// or leaks a slot (an aborted waiter, a stream that ended, a release called twice); the scope and the
// call's own signal both abort.

import { afterEach, describe, expect, it, vi } from 'vitest';
import { StorageError } from '../../src/errors.js';
import { applyLayers, maxBackoffMs, retrying, withDeadline } from '../../src/layers/index.js';
import { Slots } from '../../src/layers/limit.js';
import { HeldBackend } from '../support/held-backend.js';

async function outcome<T>(promise: Promise<T>): Promise<{ value?: T; error?: StorageError }> {
  try {
    return { value: await promise };
  } catch (error) {
    return { error: error as StorageError };
  }
}

const tick = (ms = 10): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** Waits until `check` holds (no fixed sleep: as long as the machine needs, within the test's time). */
async function until(check: () => boolean): Promise<void> {
  while (!check()) await tick(5);
}

async function drain<T>(iterable: AsyncIterable<T>): Promise<T[]> {
  const items: T[] = [];
  for await (const item of iterable) items.push(item);
  return items;
}

afterEach(() => {
  vi.useRealTimers();
  vi.restoreAllMocks();
});

describe('all four layers pass every method through', () => {
  it('returns each method’s own result and closes the backend', async () => {
    const inner = new HeldBackend({ maxInFlight: 4, pages: 2 });
    const layered = applyLayers(inner, { timeoutMs: 10_000, retries: 2, signal: new AbortController().signal });
    const calls = {
      write: layered.write('a/1.ts', Buffer.from('x')),
      read: layered.read('a/2.ts'),
      delete: layered.delete('a/3.ts'),
      deleteMany: layered.deleteMany(['a/4.ts', 'a/5.ts']),
    };
    await until(() => inner.attempts.length === 4);
    for (const attempt of inner.attempts) attempt.settle();
    expect(await calls.write).toEqual({});
    expect((await calls.read).toString()).toBe('x');
    expect(await calls.delete).toBeUndefined();
    expect(await calls.deleteMany).toEqual({ deleted: ['a/4.ts', 'a/5.ts'], failed: [] });
    const more = { exists: layered.exists('a/6.ts'), stat: layered.stat('a/7.ts'), usage: layered.usage() };
    await until(() => inner.attempts.length === 7);
    for (const attempt of inner.attempts.slice(4)) attempt.settle();
    expect(await more.exists).toBe(true);
    expect(await more.stat).toMatchObject({ key: 'a/7.ts', size: 1 });
    expect(await more.usage).toEqual({ usedBytes: null, totalBytes: null });
    expect(inner.attempts.map((a) => a.key)).toEqual(['a/1.ts', 'a/2.ts', 'a/3.ts', '*', 'a/6.ts', 'a/7.ts', 'usage']);
    // A listing of two pages and a streamed read of two chunks come through whole.
    const listing = drain(layered.list('a/'));
    await until(() => inner.attempts.length === 8);
    inner.attempts[7]!.settle();
    await until(() => inner.attempts.length === 9);
    inner.attempts[8]!.settle();
    expect((await listing).map((e) => e.key)).toEqual(['a/a.ts', 'a/2.ts']);
    const chunks = drain(layered.readStream('a/8.ts'));
    await until(() => inner.attempts.length === 10);
    inner.attempts[9]!.settle();
    await until(() => inner.attempts.length === 11);
    inner.attempts[10]!.settle();
    expect(Buffer.concat(await chunks).toString()).toBe('ab');
    await layered.close();
    expect(inner.closed).toBe(1);
  });

  it('a listing iterator without return() can still be given up', async () => {
    const inner = new HeldBackend({ bareIterator: true, maxInFlight: 2 });
    const layered = applyLayers(inner, { timeoutMs: 10_000, retries: 0 });
    const iterator = layered.list('a/')[Symbol.asyncIterator]();
    const first = iterator.next();
    await until(() => inner.attempts.length === 1);
    inner.attempts[0]!.settle();
    expect((await first).value).toMatchObject({ key: 'a/a.ts' });
    expect(await iterator.return!()).toEqual({ done: true, value: undefined });
  });
});

describe('the timeout layer names the call that missed its deadline', () => {
  it.each([
    ['write', (l: ReturnType<typeof applyLayers>) => l.write('a/b.ts', Buffer.from('x')), 'write a/b.ts'],
    ['read', (l: ReturnType<typeof applyLayers>) => l.read('a/b.ts'), 'read a/b.ts'],
    ['delete', (l: ReturnType<typeof applyLayers>) => l.delete('a/b.ts'), 'delete a/b.ts'],
    ['deleteMany', (l: ReturnType<typeof applyLayers>) => l.deleteMany(['a/b.ts']), 'deleteMany'],
    ['exists', (l: ReturnType<typeof applyLayers>) => l.exists('a/b.ts'), 'exists a/b.ts'],
    ['stat', (l: ReturnType<typeof applyLayers>) => l.stat('a/b.ts'), 'stat a/b.ts'],
    ['usage', (l: ReturnType<typeof applyLayers>) => l.usage(), 'usage'],
    ['list', (l: ReturnType<typeof applyLayers>) => drain(l.list('a/')), 'list a/'],
    ['readStream', (l: ReturnType<typeof applyLayers>) => drain(l.readStream('a/b.ts')), 'read a/b.ts'],
  ] as const)('%s', async (_name, call, named) => {
    const inner = new HeldBackend({ maxInFlight: 8 });
    const { error } = await outcome(call(applyLayers(inner, { timeoutMs: 40, retries: 0 })) as Promise<unknown>);
    expect(error).toBeInstanceOf(StorageError);
    expect(error!.code).toBe('Timeout');
    expect(error!.detail).toBe(`${named} did not answer within 40 ms`);
  });

  it('names an attempt that did not stop after its abort, and keeps the deadline’s code', async () => {
    const inner = new HeldBackend({ ignoreAbort: true });
    const { error } = await outcome(applyLayers(inner, { timeoutMs: 30, retries: 0 }).write('a/b.ts', Buffer.from('x')));
    expect(error!.code).toBe('Timeout');
    expect(error!.detail).toBe('write a/b.ts did not answer within 30 ms, and did not stop within 2000 ms of being aborted');
  });

  it('a late answer after the deadline is not taken: the call rejects Timeout', async () => {
    const inner = new HeldBackend({ ignoreAbort: true });
    const reading = outcome(applyLayers(inner, { timeoutMs: 30, retries: 0 }).read('a/b.ts'));
    await until(() => inner.attempts[0]?.signal?.aborted === true);
    inner.attempts[0]!.settle();
    const { value, error } = await reading;
    expect(value).toBeUndefined();
    expect(error!.code).toBe('Timeout');
  });

  it('a caller abort after the deadline fired does not change the Timeout', async () => {
    const inner = new HeldBackend({ ignoreAbort: true });
    const caller = new AbortController();
    const reading = outcome(applyLayers(inner, { timeoutMs: 30, retries: 0 }).read('a/b.ts', { signal: caller.signal }));
    await until(() => inner.attempts[0]?.signal?.aborted === true);
    caller.abort();
    inner.attempts[0]!.settle();
    expect((await reading).error!.code).toBe('Timeout');
  });

  it('a call that succeeded is never aborted afterwards, by its deadline or by its caller', async () => {
    const inner = new HeldBackend();
    const caller = new AbortController();
    const layered = applyLayers(inner, { timeoutMs: 30, retries: 0 });
    const reading = layered.read('a/b.ts', { signal: caller.signal });
    inner.attempts[0]!.settle();
    await reading;
    caller.abort();
    // Past the deadline the call had.
    await tick(80);
    expect(inner.attempts[0]!.signal?.aborted).toBe(false);
  });

  it('a caller abort names the call and keeps the abort’s reason as the cause', async () => {
    const inner = new HeldBackend();
    const caller = new AbortController();
    const reading = outcome(applyLayers(inner, { timeoutMs: 10_000, retries: 0 }).stat('a/b.ts', { signal: caller.signal }));
    await until(() => inner.attempts.length === 1);
    caller.abort();
    const { error } = await reading;
    expect(error!.code).toBe('Interrupted');
    expect(error!.detail).toBe('stat a/b.ts was interrupted');
    expect(error!.cause).toBe(caller.signal.reason);
  });

  it('withDeadline never runs an attempt for a caller that already aborted', async () => {
    let runs = 0;
    const { error } = await outcome(
      withDeadline(10_000, () => 'read a/b.ts', AbortSignal.abort(), async () => {
        runs++;
        return 1;
      }),
    );
    expect(error!.code).toBe('Interrupted');
    expect(error!.detail).toBe('read a/b.ts was interrupted');
    expect(runs).toBe(0);
  });

  it('a caller abort between listing pages aborts the listing’s signal; after the listing ended it does not', async () => {
    const inner = new HeldBackend({ pages: 2 });
    const layered = applyLayers(inner, { timeoutMs: 10_000, retries: 0 });
    const caller = new AbortController();
    const iterator = layered.list('a/', { signal: caller.signal })[Symbol.asyncIterator]();
    const first = iterator.next();
    await until(() => inner.attempts.length === 1);
    inner.attempts[0]!.settle();
    await first;
    expect(inner.listSignals[0]!.aborted).toBe(false);
    caller.abort();
    expect(inner.listSignals[0]!.aborted).toBe(true);
    const { error } = await outcome(iterator.next());
    expect(error!.code).toBe('Interrupted');

    const done = new AbortController();
    const listing = drain(layered.list('a/', { signal: done.signal }));
    await until(() => inner.attempts.length === 2);
    inner.attempts[1]!.settle();
    await until(() => inner.attempts.length === 3);
    inner.attempts[2]!.settle();
    expect(await listing).toHaveLength(2);
    done.abort();
    expect(inner.listSignals[1]!.aborted).toBe(false);
  });

  it('a listing for a caller that already aborted hands the backend an aborted signal', async () => {
    const inner = new HeldBackend();
    const layered = applyLayers(inner, { timeoutMs: 10_000, retries: 0 });
    const { error } = await outcome(drain(layered.list('a/', { signal: AbortSignal.abort() })));
    expect(error!.code).toBe('Interrupted');
    expect(inner.attempts).toHaveLength(0);
    for (const signal of inner.listSignals) expect(signal!.aborted).toBe(true);
  });
});

describe('the retry layer', () => {
  it('is skipped with retries 0, and for a backend whose SDK retries by itself', async () => {
    for (const [behaviour, retries] of [
      [{}, 0],
      [{ nativeRetry: true }, 2],
    ] as const) {
      const inner = new HeldBackend({ ...behaviour, failWith: () => new StorageError('Unavailable', 'down') });
      const { error } = await outcome(applyLayers(inner, { timeoutMs: 1000, retries }).read('a/b.ts'));
      expect(error!.code).toBe('Unavailable');
      expect(inner.attempts).toHaveLength(1);
    }
    const retried = new HeldBackend({ failWith: () => new StorageError('Unavailable', 'down') });
    await outcome(applyLayers(retried, { timeoutMs: 1000, retries: 2 }).read('a/b.ts'));
    expect(retried.attempts).toHaveLength(3);
  });

  it('never runs for a signal that already fired, naming the call', async () => {
    let runs = 0;
    const { error } = await outcome(
      retrying({ retries: 3, baseDelayMs: 1 }, async () => {
        runs++;
      }, AbortSignal.abort()),
    );
    expect(error!.code).toBe('Interrupted');
    expect(error!.detail).toBe('the call was interrupted');
    expect(runs).toBe(0);
  });

  it('does not retry an attempt that failed after the caller aborted: its own error is kept', async () => {
    const caller = new AbortController();
    let runs = 0;
    const { error } = await outcome(
      retrying({ retries: 3, baseDelayMs: 1 }, async () => {
        runs++;
        caller.abort();
        throw new StorageError('Unavailable', 'down');
      }, caller.signal),
    );
    expect(error!.code).toBe('Unavailable');
    expect(runs).toBe(1);
  });

  it('an abort during the backoff sleep names the call', async () => {
    const caller = new AbortController();
    const call = outcome(
      retrying({ retries: 3, baseDelayMs: 60_000 }, async () => {
        throw new StorageError('Unavailable', 'down');
      }, caller.signal),
    );
    await tick(20);
    caller.abort();
    const { error } = await call;
    expect(error!.code).toBe('Interrupted');
    expect(error!.detail).toBe('the call was interrupted');
  });

  it('backs off base × 2^attempt with full jitter: 50, 100, 200 ms for base 100 and a jitter of one half', async () => {
    vi.useFakeTimers();
    vi.spyOn(Math, 'random').mockReturnValue(0.5);
    let runs = 0;
    const call = outcome(
      retrying({ retries: 3, baseDelayMs: 100 }, async () => {
        runs++;
        throw new StorageError('Unavailable', 'down');
      }),
    );
    await vi.advanceTimersByTimeAsync(0);
    expect(runs).toBe(1);
    for (const [sleep, after] of [
      [50, 2],
      [100, 3],
      [200, 4],
    ] as const) {
      await vi.advanceTimersByTimeAsync(sleep - 1);
      expect(runs).toBe(after - 1);
      await vi.advanceTimersByTimeAsync(1);
      expect(runs).toBe(after);
    }
    expect((await call).error!.code).toBe('Unavailable');
  });

  it('the longest backoff of a call is base × (2^retries − 1): 300 ms with the defaults', () => {
    expect(maxBackoffMs({ retries: 2, baseDelayMs: 100 })).toBe(300);
    expect(maxBackoffMs({ retries: 0, baseDelayMs: 100 })).toBe(0);
    expect(maxBackoffMs({ retries: 3, baseDelayMs: 50 })).toBe(350);
  });
});

describe('the in-flight limit never loses or leaks a slot', () => {
  it('a slot freed by a call goes to the next call, again and again', async () => {
    const inner = new HeldBackend({ maxInFlight: 1 });
    const layered = applyLayers(inner, { timeoutMs: 10_000, retries: 0 });
    for (let i = 0; i < 3; i++) {
      const reading = layered.read(`a/${i}.ts`);
      await until(() => inner.attempts.length === i + 1);
      inner.attempts[i]!.settle();
      await reading;
    }
  });

  it('a waiter that gave up does not take the slot from the one behind it', async () => {
    const slots = new Slots(1);
    const releaseA = await slots.hold(undefined, 'a');
    const order: string[] = [];
    const b = slots.hold(undefined, 'b').then((release) => (order.push('b'), release));
    const gaveUp = new AbortController();
    const c = outcome(slots.hold(gaveUp.signal, 'c'));
    const d = slots.hold(undefined, 'd').then((release) => (order.push('d'), release));
    gaveUp.abort();
    expect((await c).error!.detail).toBe('c was interrupted');
    releaseA();
    (await b)();
    (await d)();
    expect(order).toEqual(['b', 'd']);
  });

  it('a release called twice frees one slot', async () => {
    const slots = new Slots(1);
    const release = await slots.hold(undefined, 'a');
    release();
    release();
    await slots.hold(undefined, 'b');
    let third = false;
    void slots.hold(undefined, 'c').then(() => (third = true));
    await tick(20);
    expect(third).toBe(false);
  });

  it('a task is not run for a signal that already fired, even with a slot free', async () => {
    const slots = new Slots(2);
    let runs = 0;
    const { error } = await outcome(slots.run(AbortSignal.abort(), 'read a/b.ts', async () => void runs++));
    expect(error!.detail).toBe('read a/b.ts was interrupted');
    expect(runs).toBe(0);
  });

  it('a call waiting for a slot names itself when its caller aborts', async () => {
    const inner = new HeldBackend({ maxInFlight: 1 });
    const layered = applyLayers(inner, { timeoutMs: 10_000, retries: 0 });
    const first = layered.read('a/1.ts');
    const details: string[] = [];
    for (const call of [(s: AbortSignal) => layered.usage({ signal: s }), (s: AbortSignal) => layered.delete('a/2.ts', { signal: s }), (s: AbortSignal) => drain(layered.list('a/', { signal: s })), (s: AbortSignal) => drain(layered.readStream('a/3.ts', { signal: s }))]) {
      const caller = new AbortController();
      const waiting = outcome(call(caller.signal) as Promise<unknown>);
      await tick(5);
      caller.abort();
      details.push((await waiting).error!.detail);
    }
    expect(details).toEqual(['usage was interrupted', 'delete a/2.ts was interrupted', 'list a/ was interrupted', 'read a/3.ts was interrupted']);
    inner.attempts[0]!.settle();
    await first;
  });

  it('a listing holds no slot between its pages; a streamed read frees its slot when it ends', async () => {
    const inner = new HeldBackend({ maxInFlight: 1, pages: 2 });
    const layered = applyLayers(inner, { timeoutMs: 10_000, retries: 0 });
    const iterator = layered.list('a/')[Symbol.asyncIterator]();
    const page = iterator.next();
    await until(() => inner.attempts.length === 1);
    inner.attempts[0]!.settle();
    await page;
    // Between the pages another call gets the slot.
    const other = layered.read('a/x.ts');
    await until(() => inner.attempts.length === 2);
    expect(inner.attempts[1]!.key).toBe('a/x.ts');
    inner.attempts[1]!.settle();
    await other;
    await iterator.return!();

    const chunks = drain(layered.readStream('a/s.ts'));
    await until(() => inner.attempts.length === 3);
    inner.attempts[2]!.settle();
    await until(() => inner.attempts.length === 4);
    inner.attempts[3]!.settle();
    await chunks;
    // The stream ended by itself: its slot is free again.
    const after = layered.read('a/y.ts');
    await until(() => inner.attempts.length === 5);
    inner.attempts[4]!.settle();
    await after;
  });

  it('a streamed read given up before its first chunk ends cleanly and holds no slot', async () => {
    const inner = new HeldBackend({ maxInFlight: 1 });
    const layered = applyLayers(inner, { timeoutMs: 10_000, retries: 0 });
    const iterator = layered.readStream('a/s.ts')[Symbol.asyncIterator]();
    expect(await iterator.return!()).toEqual({ done: true, value: undefined });
    const reading = layered.read('a/y.ts');
    await until(() => inner.attempts.length === 1);
    inner.attempts[0]!.settle();
    await reading;
  });
});

describe('the scope layer', () => {
  it('a call’s own signal still aborts it under a scope, and the scope aborts a listing', async () => {
    const inner = new HeldBackend({ pages: 2 });
    const scope = new AbortController();
    const layered = applyLayers(inner, { timeoutMs: 10_000, retries: 0, signal: scope.signal });
    const own = new AbortController();
    const reading = outcome(layered.read('a/b.ts', { signal: own.signal }));
    await until(() => inner.attempts.length === 1);
    own.abort();
    expect((await reading).error!.code).toBe('Interrupted');
    expect(inner.attempts[0]!.signal!.aborted).toBe(true);

    const iterator = layered.list('a/')[Symbol.asyncIterator]();
    const first = iterator.next();
    await until(() => inner.attempts.length === 2);
    inner.attempts[1]!.settle();
    expect((await first).value).toMatchObject({ key: 'a/a.ts' });
    scope.abort();
    expect(inner.listSignals[0]!.aborted).toBe(true);
    expect((await outcome(iterator.next())).error!.code).toBe('Interrupted');
  });
});
