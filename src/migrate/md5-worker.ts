// md5 off the main thread. Verifying a copy needs the md5 of every object (1.4 ms per MiB); done on
// the event loop it held up the other uploads, and migrate fell to 0.88x of a bare SDK upload loop.

import { createHash } from 'node:crypto';
import { Worker } from 'node:worker_threads';

// Inline (eval) so the same code runs from dist/ and from the TypeScript sources under test.
const WORKER_SOURCE = `
const { parentPort } = require('node:worker_threads');
const { createHash } = require('node:crypto');
parentPort.on('message', ({ id, data }) => {
  parentPort.postMessage({ id, md5: createHash('md5').update(data).digest('hex') });
});
`;

export class Md5Hasher {
  private worker: Worker | undefined;
  private readonly pending = new Map<number, { data: Uint8Array; resolve: (md5: string) => void }>();
  private nextId = 0;

  /** The lowercase hex md5 of `data`, computed on a worker thread (inline if that cannot start). */
  digest(data: Uint8Array): Promise<string> {
    const worker = this.start();
    if (worker === undefined) return Promise.resolve(createHash('md5').update(data).digest('hex'));
    const id = this.nextId++;
    if (this.pending.size === 0) worker.ref();
    return new Promise((resolve) => {
      this.pending.set(id, { data, resolve });
      worker.postMessage({ id, data });
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
        this.pending.get(id)?.resolve(md5);
        this.pending.delete(id);
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

  /** The worker died: the hashes it owed are computed here, and later ones start a new worker. */
  private failOver(): void {
    this.worker = undefined;
    for (const { data, resolve } of this.pending.values()) resolve(createHash('md5').update(data).digest('hex'));
    this.pending.clear();
  }
}
