// SegmentStorage: what is stored. Segments of HLS streams by stream name and numeric id, on top of
// the StorageManager that decides where. Names and ids are validated before any I/O.

import type { PoolFailure, StorageManager } from '../pool/manager.js';
import { DEFAULT_LAYOUT, SegmentLayout, type LayoutOptions } from './layout.js';
import { compareNames } from '../keys.js';

export interface SegmentInfo {
  id: number;
  key: string;
  size: number;
  modified: Date;
  /** Pools that hold it, in priority order. */
  pools: string[];
}

export interface StreamSummary {
  stream: string;
  segments: number;
  bytes: number;
  firstId: number | null;
  lastId: number | null;
  /** Pools holding any of its segments, in priority order. */
  pools: string[];
  hasPlaylist: boolean;
}

export interface Listing<T> {
  items: T[];
  /** Pools whose listing failed: the items are then incomplete. */
  failures: PoolFailure[];
}

export class SegmentStorage {
  readonly layout: SegmentLayout;
  readonly manager: StorageManager;

  constructor(manager: StorageManager, layout: LayoutOptions | SegmentLayout = DEFAULT_LAYOUT) {
    this.manager = manager;
    this.layout = layout instanceof SegmentLayout ? layout : new SegmentLayout(layout);
  }

  /** Stores a segment in the best pool (or `options.pool`); says which pool took it. */
  async save(stream: string, id: number, data: Uint8Array, options: { pool?: string } = {}) {
    const key = this.layout.segmentKey(stream, id);
    const outcome = await this.manager.write(key, data, options);
    return { key, id, size: data.byteLength, ...outcome };
  }

  /** The segment's bytes from whichever pool holds it. NotFound when none does. */
  async load(stream: string, id: number, options: { pool?: string } = {}): Promise<{ data: Buffer; pool: string; key: string }> {
    const key = this.layout.segmentKey(stream, id);
    return { key, ...(await this.manager.read(key, options)) };
  }

  /** Removes the segment from every pool holding it. NotFound when none did. */
  async delete(stream: string, id: number, options: { pool?: string } = {}): Promise<{ key: string; deletedFrom: string[] }> {
    const key = this.layout.segmentKey(stream, id);
    return { key, ...(await this.manager.delete(key, options)) };
  }

  async savePlaylist(stream: string, text: string, options: { pool?: string } = {}) {
    const key = this.layout.playlistKey(stream);
    return { key, ...(await this.manager.write(key, Buffer.from(text, 'utf8'), options)) };
  }

  async loadPlaylist(stream: string, options: { pool?: string } = {}): Promise<{ text: string; pool: string }> {
    const { data, pool } = await this.manager.read(this.layout.playlistKey(stream), options);
    return { text: data.toString('utf8'), pool };
  }

  /** A stream's segments, ids in numeric order (2 before 10), with the pools holding each. */
  async listSegments(stream: string, options: { pool?: string } = {}): Promise<Listing<SegmentInfo>> {
    const { objects, failures } = await this.manager.list(this.layout.streamPrefix(stream), options);
    const items: SegmentInfo[] = [];
    for (const [key, { info, pools }] of objects) {
      const parsed = this.layout.parse(key);
      if (parsed?.kind === 'segment' && parsed.stream === stream) {
        items.push({ id: parsed.id, key, size: info.size, modified: info.modified, pools });
      }
    }
    items.sort((a, b) => a.id - b.id);
    return { items, failures };
  }

  /** Every stream with its segment count, bytes, first and last id and pools, by name. */
  async listStreams(options: { pool?: string } = {}): Promise<Listing<StreamSummary>> {
    const { objects, failures } = await this.manager.list(this.layout.root, options);
    const streams = new Map<string, StreamSummary & { poolSet: Set<string> }>();
    for (const [key, { info, pools }] of objects) {
      const parsed = this.layout.parse(key);
      if (parsed === undefined) continue;
      let summary = streams.get(parsed.stream);
      if (summary === undefined) {
        summary = { stream: parsed.stream, segments: 0, bytes: 0, firstId: null, lastId: null, pools: [], hasPlaylist: false, poolSet: new Set() };
        streams.set(parsed.stream, summary);
      }
      if (parsed.kind === 'playlist') summary.hasPlaylist = true;
      if (parsed.kind !== 'segment') continue;
      summary.segments++;
      summary.bytes += info.size;
      summary.firstId = summary.firstId === null ? parsed.id : Math.min(summary.firstId, parsed.id);
      summary.lastId = summary.lastId === null ? parsed.id : Math.max(summary.lastId, parsed.id);
      for (const pool of pools) summary.poolSet.add(pool);
    }
    const order = this.manager.pools.map((p) => p.name);
    const items = [...streams.values()]
      .map(({ poolSet, ...summary }) => ({ ...summary, pools: order.filter((name) => poolSet.has(name)) }))
      .sort((a, b) => compareNames(a.stream, b.stream));
    return { items, failures };
  }
}
