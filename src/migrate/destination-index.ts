// What the destination already holds, for migrate's skip check: one listing per stream instead of
// one HEAD request per object. Bounded: at most a few streams are held, each up to a cap; beyond
// that (or for keys outside the layout, or streams that come back after eviction) it asks the
// destination per object.

import type { ObjectInfo } from '../backends/types.js';
import { isStorageError } from '../errors.js';
import type { StoragePool } from '../pool/pool.js';
import type { SegmentLayout } from '../segments/layout.js';

/** Streams whose listing is held at once (a source listing yields streams one after another). */
const STREAMS_HELD = 2;
/** Objects of one stream held at most (about 100 bytes each); a larger stream is asked per object. */
const MAX_OBJECTS_PER_STREAM = 200_000;

type StreamListing = Promise<Map<string, ObjectInfo> | null>;

export class DestinationIndex {
  private readonly to: StoragePool;
  private readonly layout: SegmentLayout;
  private readonly held = new Map<string, StreamListing>();
  /** Streams evicted once: asked per object from then on, so interleaved listings cannot thrash. */
  private readonly perObject = new Set<string>();

  constructor(to: StoragePool, layout: SegmentLayout) {
    this.to = to;
    this.layout = layout;
  }

  /** The destination's object at `key`, or null when it has none. */
  async lookup(key: string): Promise<ObjectInfo | null> {
    const stream = this.layout.parse(key)?.stream;
    if (stream === undefined || this.perObject.has(stream)) return this.stat(key);
    let listing = this.held.get(stream);
    if (listing === undefined) {
      listing = this.listStream(stream);
      this.held.set(stream, listing);
      if (this.held.size > STREAMS_HELD) {
        const oldest = this.held.keys().next().value as string;
        this.held.delete(oldest);
        this.perObject.add(oldest);
      }
    }
    const objects = await listing;
    return objects === null ? this.stat(key) : (objects.get(key) ?? null);
  }

  /** The stream's objects at the destination; null when it is too large or cannot be listed. */
  private async listStream(stream: string): StreamListing {
    const objects = new Map<string, ObjectInfo>();
    try {
      for await (const info of this.to.list(this.layout.streamPrefix(stream))) {
        objects.set(info.key, { key: info.key, size: info.size, modified: info.modified, md5: info.md5 });
        if (objects.size > MAX_OBJECTS_PER_STREAM) return null;
      }
      return objects;
    } catch {
      return null;
    }
  }

  private async stat(key: string): Promise<ObjectInfo | null> {
    try {
      return await this.to.stat(key);
    } catch (error) {
      if (isStorageError(error, 'NotFound')) return null;
      throw error;
    }
  }
}
