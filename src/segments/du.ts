// du: bytes and objects per stream and per pool, each copy counted once in the pool that holds it,
// and what is held in more than one pool shown as such (so "how much does this stream cost" and
// "how much would deleting the extra copies free" both have an answer).

import type { PoolFailure } from '../pool/manager.js';
import { compareNames } from '../keys.js';
import type { SegmentStorage } from './segment-storage.js';

export interface UsageCell {
  objects: number;
  bytes: number;
}

export interface StreamUsage {
  stream: string;
  /** Per pool name: that pool's copies. */
  pools: Record<string, UsageCell>;
  /** Distinct objects of the stream, each counted once (its largest copy). */
  total: UsageCell;
  /** Objects held in more than one pool, counted once, and the bytes their extra copies take. */
  multiplyHeld: UsageCell & { extraBytes: number };
}

export interface UsageReport {
  pools: string[];
  streams: StreamUsage[];
  /** Column sums: per pool, the total and the multiply-held. */
  totals: Omit<StreamUsage, 'stream'>;
  failures: PoolFailure[];
}

export async function diskUsage(storage: SegmentStorage, options: { streams?: readonly string[] | undefined; pool?: string | undefined } = {}): Promise<UsageReport> {
  const pools = storage.manager.poolsFor(options.pool);
  const wanted = options.streams === undefined ? undefined : new Set(options.streams);
  const prefixes = options.streams === undefined ? [storage.layout.root] : [...new Set(options.streams.map((s) => storage.layout.groupPrefix(s)))];
  // key → size in each pool that holds it
  const byStream = new Map<string, Map<string, Map<string, number>>>();
  const failures: PoolFailure[] = [];
  await Promise.all(
    pools.flatMap((pool) =>
      prefixes.map(async (prefix) => {
        try {
          for await (const info of pool.list(prefix)) {
            const stream = storage.layout.parse(info.key)?.stream;
            if (stream === undefined || (wanted !== undefined && !wanted.has(stream))) continue;
            const keys = byStream.get(stream) ?? new Map<string, Map<string, number>>();
            byStream.set(stream, keys);
            const copies = keys.get(info.key) ?? new Map<string, number>();
            keys.set(info.key, copies);
            copies.set(pool.name, info.size);
          }
        } catch (error) {
          failures.push({ pool: pool.name, error: pool.named(error, prefix) });
        }
      }),
    ),
  );
  const names = pools.map((p) => p.name);
  const empty = (): UsageCell => ({ objects: 0, bytes: 0 });
  const streams: StreamUsage[] = [];
  for (const stream of [...new Set([...byStream.keys(), ...(options.streams ?? [])])].sort(compareNames)) {
    const usage: StreamUsage = { stream, pools: Object.fromEntries(names.map((n) => [n, empty()])), total: empty(), multiplyHeld: { ...empty(), extraBytes: 0 } };
    for (const copies of byStream.get(stream)?.values() ?? []) {
      let largest = 0;
      let sum = 0;
      for (const [pool, size] of copies) {
        usage.pools[pool]!.objects++;
        usage.pools[pool]!.bytes += size;
        largest = Math.max(largest, size);
        sum += size;
      }
      usage.total.objects++;
      usage.total.bytes += largest;
      if (copies.size > 1) {
        usage.multiplyHeld.objects++;
        usage.multiplyHeld.bytes += largest;
        usage.multiplyHeld.extraBytes += sum - largest;
      }
    }
    streams.push(usage);
  }
  const totals: Omit<StreamUsage, 'stream'> = { pools: Object.fromEntries(names.map((n) => [n, empty()])), total: empty(), multiplyHeld: { ...empty(), extraBytes: 0 } };
  for (const s of streams) {
    for (const n of names) {
      totals.pools[n]!.objects += s.pools[n]!.objects;
      totals.pools[n]!.bytes += s.pools[n]!.bytes;
    }
    totals.total.objects += s.total.objects;
    totals.total.bytes += s.total.bytes;
    totals.multiplyHeld.objects += s.multiplyHeld.objects;
    totals.multiplyHeld.bytes += s.multiplyHeld.bytes;
    totals.multiplyHeld.extraBytes += s.multiplyHeld.extraBytes;
  }
  return { pools: names, streams, totals, failures };
}
