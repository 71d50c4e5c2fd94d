// A counting semaphore for migrate: at most `size` objects in flight, and a way to wait for all.

/** A counting semaphore: at most `size` holders; acquire waits for a free slot. */
export class Slots {
  private free: number;
  private readonly waiting: (() => void)[] = [];
  private idle: (() => void) | undefined;
  private readonly size: number;

  constructor(size: number) {
    this.size = size;
    this.free = size;
  }

  async acquire(): Promise<void> {
    if (this.free > 0) {
      this.free--;
      return;
    }
    await new Promise<void>((resolve) => this.waiting.push(resolve));
  }

  release(): void {
    const next = this.waiting.shift();
    if (next !== undefined) return next();
    this.free++;
    if (this.free === this.size) this.idle?.();
  }

  /** Resolves once every slot is free again. */
  async drain(): Promise<void> {
    if (this.free === this.size) return;
    await new Promise<void>((resolve) => (this.idle = resolve));
    this.idle = undefined;
  }
}
