// --shard K/N: a stable hash (pinned values, computed independently in Python), every name in
// exactly one shard, a spread that shares the work, and one-line errors for bad input.

import { describe, expect, it } from 'vitest';
import { isStorageError } from '../../src/errors.js';
import { inShard, parseShard, shardHash, shardOf } from '../../src/segments/shard.js';

describe('shard', () => {
  it('hashes names to the same values on every machine and Node version (FNV-1a + fmix32 over UTF-8)', () => {
    // Pinned: a change here moves streams between hosts that share a store.
    expect(shardHash('')).toBe(2872998923);
    expect(shardHash('cam1')).toBe(1418139050);
    expect(shardHash('é')).toBe(2387039943);
    expect(shardOf('cam1', 4)).toBe(3);
    expect(shardOf('anything', 1)).toBe(1);
  });

  it('puts every name in exactly one of the N shards, so the N runs together are the whole run', () => {
    const names = Array.from({ length: 2000 }, (_, i) => `cam${i}`);
    for (const count of [1, 2, 3, 4, 7, 16]) {
      const union: string[] = [];
      for (let index = 1; index <= count; index++) union.push(...names.filter((name) => inShard(name, { index, count })));
      expect(union.length).toBe(names.length);
      expect(new Set(union)).toEqual(new Set(names));
    }
  });

  it('spreads similar names evenly enough to share the work (each of 4 shards within 20% of a quarter)', () => {
    const counts = [0, 0, 0, 0];
    for (let i = 0; i < 4000; i++) counts[shardOf(`cam${i}`, 4) - 1]!++;
    for (const n of counts) expect(Math.abs(n - 1000)).toBeLessThan(200);
  });

  it('parses K/N (1-based) and refuses anything else with a one-line InvalidArgument', () => {
    expect(parseShard('1/4')).toEqual({ index: 1, count: 4 });
    expect(parseShard('4/4')).toEqual({ index: 4, count: 4 });
    expect(parseShard(' 2 / 3 ')).toEqual({ index: 2, count: 3 });
    for (const bad of ['0/4', '5/4', '1/0', '1', '1/4/2', 'a/b', '-1/4', '1.5/4', '', '1/2000']) {
      const error = (() => {
        try {
          parseShard(bad);
        } catch (e) {
          return e;
        }
        return undefined;
      })();
      expect(isStorageError(error, 'InvalidArgument'), bad).toBe(true);
      expect((error as Error).message).toMatch(/^--shard .*: use K\/N/);
      expect((error as Error).message).not.toMatch(/\n/);
    }
  });
});
