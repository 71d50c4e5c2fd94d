// The in-flight limit: at most capabilities.maxInFlight calls (and listing pages) reach a backend
// at once; the rest wait here, OUTSIDE the timeout layer, so a call's deadline starts only once it
// has a slot (a burst of 500 writes on 64 sockets does not time out calls that never got to try).
// A call waiting for a slot rejects at once when its caller's signal fires.

import type { StorageBackend } from '../backends/types.js';
import { interruptedBy } from './timeout.js';
import { wrapBackend, type ListingAround } from './wrap.js';

/** A counting semaphore whose waiters can give up. */
export class Slots {
  private free: number;
  private readonly waiting: (() => void)[] = [];

  constructor(size: number) {
    this.free = size;
  }

  /** A slot, held until the function it resolves with is called; rejects when `signal` fires first. */
  async hold(signal: AbortSignal | undefined, what: string): Promise<() => void> {
    await this.acquire(signal, what);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.release();
    };
  }

  /** Runs `task` once a slot is free; rejects without running it when `signal` fires first. */
  async run<T>(signal: AbortSignal | undefined, what: string, task: () => Promise<T>): Promise<T> {
    await this.acquire(signal, what);
    try {
      return await task();
    } finally {
      this.release();
    }
  }

  private acquire(signal: AbortSignal | undefined, what: string): Promise<void> {
    if (signal?.aborted === true) return Promise.reject(interruptedBy(signal, what));
    if (this.free > 0) {
      this.free--;
      return Promise.resolve();
    }
    return new Promise((resolve, reject) => {
      const grant = (): void => {
        signal?.removeEventListener('abort', onAbort);
        resolve();
      };
      const onAbort = (): void => {
        const at = this.waiting.indexOf(grant);
        if (at !== -1) this.waiting.splice(at, 1);
        reject(interruptedBy(signal!, what));
      };
      this.waiting.push(grant);
      signal?.addEventListener('abort', onAbort, { once: true });
    });
  }

  private release(): void {
    const next = this.waiting.shift();
    if (next === undefined) this.free++;
    else next();
  }
}

export function limitLayer(backend: StorageBackend): StorageBackend {
  const max = backend.capabilities.maxInFlight;
  if (max === undefined || !Number.isFinite(max)) return backend;
  const slots = new Slots(max);
  return wrapBackend(backend, {
    call: (op, key, signal, run) => slots.run(signal, `${op} ${key ?? ''}`.trim(), () => run(signal)),
    listing: (kind, key, signal) => (kind === 'list' ? listingSlots(slots, key, signal) : streamSlot(slots, key, signal)),
  });
}

/** A listing takes a slot per page: between pages it holds no request. */
function listingSlots(slots: Slots, prefix: string, signal: AbortSignal | undefined): ListingAround {
  return { signal, page: (next) => slots.run(signal, `list ${prefix}`, next), end: () => undefined };
}

/** A streamed read holds its request, and so its slot, from its first chunk to its end. */
function streamSlot(slots: Slots, key: string, signal: AbortSignal | undefined): ListingAround {
  let held: Promise<() => void> | undefined;
  let ended = false;
  return {
    signal,
    page: async (next) => {
      held ??= slots.hold(signal, `read ${key}`);
      await held;
      return next();
    },
    end: () => {
      if (ended) return;
      ended = true;
      void held?.then((release) => release(), () => undefined);
    },
  };
}
