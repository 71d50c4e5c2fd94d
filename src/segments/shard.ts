// `--shard K/N`: N hosts (cron jobs, migration workers) share one store without overlap and without
// talking to each other. Each run handles the streams whose name hashes to its shard; every stream
// belongs to exactly one of the N shards, so the union of the N runs is exactly the whole run.
//
// The hash is FNV-1a (32 bit) over the name's UTF-8 bytes, finished with murmur3's fmix32 so that
// the low bits (which `mod N` keeps) depend on every byte. It is plain integer arithmetic: the same
// on every machine, architecture and Node version, with no library and no node:crypto to load.

import { StorageError } from '../errors.js';

/** Shard `index` (1-based: 1 to count) of `count`. */
export interface Shard {
  readonly index: number;
  readonly count: number;
}

/** Most shards accepted: more hosts than this on one store is surely a typo. */
export const MAX_SHARDS = 1024;

const encoder = new TextEncoder();

/** The 32-bit hash of `name` that decides its shard (stable: never change it, shards would move). */
export function shardHash(name: string): number {
  let hash = 0x811c9dc5;
  for (const byte of encoder.encode(name)) {
    hash ^= byte;
    hash = Math.imul(hash, 0x01000193);
  }
  hash ^= hash >>> 16;
  hash = Math.imul(hash, 0x85ebca6b);
  hash ^= hash >>> 13;
  hash = Math.imul(hash, 0xc2b2ae35);
  hash ^= hash >>> 16;
  return hash >>> 0;
}

/** The shard (1 to count) that `name` belongs to. */
export function shardOf(name: string, count: number): number {
  return (shardHash(name) % count) + 1;
}

/** Whether `shard` handles the stream `name`; every name is in exactly one of the shards 1..N. */
export function inShard(name: string, shard: Shard): boolean {
  return shardOf(name, shard.count) === shard.index;
}

/**
 * `K/N` as given to --shard: whole numbers, 1 ≤ K ≤ N ≤ MAX_SHARDS. Anything else is an
 * InvalidArgument that says what to write.
 */
export function parseShard(text: string, option = '--shard'): Shard {
  const match = /^\s*([0-9]+)\s*\/\s*([0-9]+)\s*$/.exec(text);
  const index = match === null ? NaN : Number(match[1]);
  const count = match === null ? NaN : Number(match[2]);
  if (!Number.isSafeInteger(index) || !Number.isSafeInteger(count) || count < 1 || count > MAX_SHARDS || index < 1 || index > count) {
    throw new StorageError(
      'InvalidArgument',
      `${option} ${JSON.stringify(text)}: use K/N with whole numbers 1 ≤ K ≤ N ≤ ${MAX_SHARDS}, e.g. ${option} 1/4 on the first of four hosts`,
    );
  }
  return { index, count };
}

/** `K/N`, as parsed. */
export function formatShard(shard: Shard): string {
  return `${shard.index}/${shard.count}`;
}
