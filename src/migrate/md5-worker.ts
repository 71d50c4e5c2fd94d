// md5 off the main thread. Verifying a copy needs the md5 of every object (1.4 ms per MiB); done on
// the event loop it held up the other uploads, and migrate fell to 0.88x of a bare SDK upload loop.
// The bytes reach the worker in a SharedArrayBuffer: posting a Buffer made V8 clone it (serialise
// and copy), which cost the main thread about as much as hashing there. Data read into a buffer
// from SharedBuffers is posted as it is; other data is copied into one first.

import { requireCommonJs } from '../commonjs.js';
import { SharedBuffers } from './buffers.js';

const { createHash } = requireCommonJs<typeof import('node:crypto')>('node:crypto');
const { Worker } = requireCommonJs<typeof import('node:worker_threads')>('node:worker_threads');

// Inline (eval) so the same code runs from dist/ and from the TypeScript sources under test.
const WORKER_SOURCE = `
const { parentPort } = require('node:worker_threads');
const { createHash } = require('node:crypto');
parentPort.on('message', ({ id, buffer, offset, length }) => {
  parentPort.postMessage({ id, md5: createHash('md5').update(new Uint8Array(buffer, offset, length)).digest('hex') });
});
`;

interface Job {
  data: Uint8Array;
  /** The copy made for the worker, to give back when it is done. */
  copy: Buffer | undefined;
  resolve: (md5: string) => void;
}

export class Md5Hasher {
  private worker: import('node:worker_threads').Worker | undefined;
  private readonly pending = new Map<number, Job>();
  private nextId = 0;
  private readonly copies = new SharedBuffers();

  /** The lowercase hex md5 of `data`, computed on a worker thread (inline if that cannot start). */
  digest(data: Uint8Array): Promise<string> {
    const worker = this.start();
    if (worker === undefined) return Promise.resolve(createHash('md5').update(data).digest('hex'));
    const copy = data.buffer instanceof SharedArrayBuffer ? undefined : this.copies.acquire(data.byteLength);
    copy?.set(data);
    const shared = copy ?? data;
    const id = this.nextId++;
    if (this.pending.size === 0) worker.ref();
    return new Promise((resolve) => {
      this.pending.set(id, { data, copy, resolve });
      worker.postMessage({ id, buffer: shared.buffer, offset: shared.byteOffset, length: data.byteLength });
    });
  }

  /**
   * Starts the worker now rather than at the first digest: it takes 30-80 ms to boot, which a short
   * migrate otherwise waits for before its first upload. It boots on a thread of its own while the
   * caller goes on (the same-store check, the first listings).
   */
  warm(): void {
    this.start();
  }

  async close(): Promise<void> {
    const worker = this.worker;
    this.worker = undefined;
    this.copies.clear();
    await worker?.terminate();
  }

  private start(): import('node:worker_threads').Worker | undefined {
    if (this.worker !== undefined) return this.worker;
    try {
      const worker = new Worker(WORKER_SOURCE, { eval: true });
      worker.on('message', ({ id, md5 }: { id: number; md5: string }) => {
        const job = this.pending.get(id);
        this.pending.delete(id);
        if (this.pending.size === 0) worker.unref();
        if (job === undefined) return;
        if (job.copy !== undefined) this.copies.release(job.copy);
        job.resolve(md5);
      });
      worker.on('error', () => this.failOver());
      worker.unref();
      this.worker = worker;
      return worker;
    } catch {
      return undefined;
    }
  }

  /** The worker died: the hashes it owed are computed here, and later ones start a new worker. */
  private failOver(): void {
    this.worker = undefined;
    for (const { data, resolve } of this.pending.values()) resolve(createHash('md5').update(data).digest('hex'));
    this.pending.clear();
  }
}
