// md5 off the main thread. Verifying a copy needs the md5 of every object (1.4 ms per MiB); done on
// the event loop it held up the other uploads, and migrate fell to 0.88x of a bare SDK upload loop.
// The bytes reach the worker through a SharedArrayBuffer: posting the Buffer itself made V8 clone it
// (serialise + copy), which cost the main thread 1.3 ms per MiB, as much as hashing it there.

import { createHash } from 'node:crypto';
import { Worker } from 'node:worker_threads';

// Inline (eval) so the same code runs from dist/ and from the TypeScript sources under test.
const WORKER_SOURCE = `
const { parentPort } = require('node:worker_threads');
const { createHash } = require('node:crypto');
parentPort.on('message', ({ id, buffer, length }) => {
  parentPort.postMessage({ id, md5: createHash('md5').update(new Uint8Array(buffer, 0, length)).digest('hex') });
});
`;

const MIN_BUFFER = 2 * 1024 * 1024;
const MAX_KEPT_BUFFER = 16 * 1024 * 1024;
const MAX_SPARE = 64;

export class Md5Hasher {
  private worker: Worker | undefined;
  private readonly pending = new Map<number, { data: Uint8Array; buffer: SharedArrayBuffer; resolve: (md5: string) => void }>();
  private nextId = 0;
  /** Shared buffers free for reuse: one per object in flight, so at most `--concurrency` of them. */
  private readonly spare: SharedArrayBuffer[] = [];

  /** The lowercase hex md5 of `data`, computed on a worker thread (inline if that cannot start). */
  digest(data: Uint8Array): Promise<string> {
    const worker = this.start();
    if (worker === undefined) return Promise.resolve(createHash('md5').update(data).digest('hex'));
    const id = this.nextId++;
    if (this.pending.size === 0) worker.ref();
    const buffer = this.acquire(data.byteLength);
    new Uint8Array(buffer, 0, data.byteLength).set(data);
    return new Promise((resolve) => {
      this.pending.set(id, { data, buffer, resolve });
      worker.postMessage({ id, buffer, length: data.byteLength });
    });
  }

  async close(): Promise<void> {
    const worker = this.worker;
    this.worker = undefined;
    await worker?.terminate();
  }

  private start(): Worker | undefined {
    if (this.worker !== undefined) return this.worker;
    try {
      const worker = new Worker(WORKER_SOURCE, { eval: true });
      worker.on('message', ({ id, md5 }: { id: number; md5: string }) => {
        const job = this.pending.get(id);
        this.pending.delete(id);
        if (job !== undefined) {
          this.release(job.buffer);
          job.resolve(md5);
        }
        if (this.pending.size === 0) worker.unref();
      });
      worker.on('error', () => this.failOver());
      worker.unref();
      this.worker = worker;
      return worker;
    } catch {
      return undefined;
    }
  }

  // A fresh SharedArrayBuffer per object left hundreds of MiB to a lazy GC (RSS 200 -> 650 MiB on
  // 500 x 1 MiB); reused ones keep memory at what is in flight.
  private acquire(size: number): SharedArrayBuffer {
    const i = this.spare.findIndex((b) => b.byteLength >= size);
    if (i !== -1) return this.spare.splice(i, 1)[0] as SharedArrayBuffer;
    return new SharedArrayBuffer(Math.max(size, MIN_BUFFER));
  }

  private release(buffer: SharedArrayBuffer): void {
    if (buffer.byteLength <= MAX_KEPT_BUFFER && this.spare.length < MAX_SPARE) this.spare.push(buffer);
  }

  /** The worker died: the hashes it owed are computed here, and later ones start a new worker. */
  private failOver(): void {
    this.worker = undefined;
    for (const { data, resolve } of this.pending.values()) resolve(createHash('md5').update(data).digest('hex'));
    this.pending.clear();
    this.spare.length = 0;
  }
}
