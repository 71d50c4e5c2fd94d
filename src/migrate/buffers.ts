// Buffers that migrate reuses from one object to the next, backed by SharedArrayBuffer so that the
// md5 worker hashes the very bytes that are uploaded, without a copy. Reading 500 x 1 MiB into
// fresh buffers cost about 0.6 s of CPU in allocation and garbage collection (25 full collections
// forced by external memory); reused ones cost nothing after the first round.

/** The smallest buffer handed out: an HLS segment of a few seconds fits. */
const MIN_BYTES = 2 * 1024 * 1024;
/** Buffers bigger than this are not kept for reuse. */
const MAX_KEPT_BYTES = 16 * 1024 * 1024;
/** What is kept for reuse, at most. */
const MAX_SPARE_BYTES = 256 * 1024 * 1024;

export class SharedBuffers {
  private readonly spare: SharedArrayBuffer[] = [];
  private spareBytes = 0;

  /** A buffer of at least `size` bytes: all of one SharedArrayBuffer, reused or new. */
  acquire(size: number): Buffer {
    const i = this.spare.findIndex((b) => b.byteLength >= size);
    if (i === -1) return Buffer.from(new SharedArrayBuffer(Math.max(size, MIN_BYTES)));
    const [shared] = this.spare.splice(i, 1) as [SharedArrayBuffer];
    this.spareBytes -= shared.byteLength;
    return Buffer.from(shared);
  }

  /** Gives back a buffer from acquire() once nothing uses it (nor any view of it) any more. */
  release(buffer: Buffer): void {
    const shared = buffer.buffer;
    if (!(shared instanceof SharedArrayBuffer) || shared.byteLength > MAX_KEPT_BYTES) return;
    if (this.spareBytes + shared.byteLength > MAX_SPARE_BYTES) return;
    this.spare.push(shared);
    this.spareBytes += shared.byteLength;
  }

  clear(): void {
    this.spare.length = 0;
    this.spareBytes = 0;
  }
}
