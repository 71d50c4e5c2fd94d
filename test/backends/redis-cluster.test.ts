// The Redis backend on a real 3-master Redis Cluster on loopback: the conformance suite, each
// folder on one node while the folders spread over all of them, listing, usage summed over the
// masters, TTL, batch deletes across nodes, and a stopped node: its folders' writes fail fast, the
// pool turns degraded or unhealthy, and put fails over to the next pool.

import * as v from 'valibot';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RedisBackend } from '../../src/backends/redis/index.js';
import { redisOptionsSchema } from '../../src/backends/redis/options.js';
import { isStorageError } from '../../src/errors.js';
import { cli, workdir } from '../cli/run.js';
import { runConformance } from '../conformance/suite.js';
import { describeWithRedis } from '../support/redis.js';
import { startRedisCluster, type RedisTestCluster } from '../support/redis-cluster.js';

async function keysOf(iterable: AsyncIterable<{ key: string }>): Promise<string[]> {
  const keys: string[] = [];
  for await (const entry of iterable) keys.push(entry.key);
  return keys.sort();
}

describeWithRedis('redis backend on a Redis Cluster', () => {
  let cluster: RedisTestCluster;
  beforeAll(async () => {
    cluster = await startRedisCluster({ maxmemory: '256mb' });
  }, 60_000);
  afterAll(async () => {
    await cluster?.close();
  });

  const backendOn = (extra: Record<string, unknown> = {}) => {
    const options = v.parse(redisOptionsSchema, cluster.poolOptions(extra));
    return { backend: new RedisBackend(options), prefix: options.keyPrefix };
  };
  /** Redis keys of this pool on each node. */
  const keysByNode = async (prefix: string) => Promise.all(cluster.nodes.map(async (node) => ((await node.command('KEYS', `${prefix}*`)) as string[]).sort()));

  runConformance('redis (cluster)', async () => {
    const { backend } = backendOn();
    return { backend, cleanup: () => backend.close() };
  });

  it("keeps each folder's keys on one node, and spreads the folders over every master", async () => {
    const { backend, prefix } = backendOn();
    const keys = Array.from({ length: 120 }, (_, i) => `hls/cam${i % 30}/segment_${i}.ts`);
    await Promise.all(keys.map((key) => backend.write(key, Buffer.from(key))));
    const byNode = await keysByNode(prefix);
    const nodesOfFolder = new Map<string, Set<number>>();
    byNode.forEach((redisKeys, node) => {
      for (const redisKey of redisKeys) {
        const folder = /(?:o:|i:)(hls\/cam\d+\/)/.exec(redisKey)?.[1];
        if (folder === undefined) continue;
        nodesOfFolder.set(folder, (nodesOfFolder.get(folder) ?? new Set()).add(node));
      }
    });
    expect(nodesOfFolder.size).toBe(30);
    for (const nodes of nodesOfFolder.values()) expect(nodes.size).toBe(1);
    expect(new Set([...nodesOfFolder.values()].map((nodes) => [...nodes][0])).size).toBe(3);

    expect(await keysOf(backend.list('hls/'))).toEqual([...keys].sort());
    expect(await keysOf(backend.list('hls/cam7/'))).toEqual(keys.filter((key) => key.startsWith('hls/cam7/')).sort());
    expect((await backend.read('hls/cam7/segment_7.ts')).toString()).toBe('hls/cam7/segment_7.ts');

    const result = await backend.deleteMany([...keys, 'hls/cam1/missing.ts']);
    expect(result.failed).toEqual([]);
    expect(result.deleted).toHaveLength(121);
    expect(await keysOf(backend.list(''))).toEqual([]);
    // What is left are the folder links (cluster pools never prune them): no object, no index entry.
    for (const redisKeys of await keysByNode(prefix)) expect(redisKeys.filter((k) => !/}f:/.test(k))).toEqual([]);
    await backend.close();
  });

  it('reports usage summed over the masters, with the sum of their maxmemory as the total', async () => {
    const { backend } = backendOn();
    const usage = await backend.usage();
    const used = await Promise.all(cluster.nodes.map(async (node) => Number(/used_memory:(\d+)/.exec(String(await node.command('INFO', 'memory')))?.[1])));
    expect(usage.totalBytes).toBe(3 * 256 * 1024 * 1024);
    // The sum over the three masters (measured again just after, so within a margin), not one node's.
    const sum = used.reduce((a, b) => a + b);
    expect(usage.usedBytes).toBeGreaterThan(sum * 0.8);
    expect(usage.usedBytes).toBeLessThan(sum * 1.25);
    expect(usage.usedBytes).toBeGreaterThan(Math.max(...used) + Math.min(...used) * 0.5);
    await backend.close();
  });

  it('leaves no ghost in the listing once objects expire by TTL', async () => {
    const { backend, prefix } = backendOn({ ttlSeconds: 1 });
    const keys = ['ttl/a/segment_1.ts', 'ttl/b/segment_2.ts', 'ttl/c/deep/segment_3.ts'];
    for (const key of keys) await backend.write(key, Buffer.from('soon gone'));
    expect(await keysOf(backend.list('ttl/'))).toEqual([...keys].sort());
    await new Promise((resolve) => setTimeout(resolve, 1300));
    expect(await keysOf(backend.list(''))).toEqual([]);
    expect(await backend.exists('ttl/a/segment_1.ts')).toBe(false);
    for (const redisKeys of await keysByNode(prefix)) expect(redisKeys.filter((k) => /}o:/.test(k))).toEqual([]);
    await backend.close();
  });

  it('a stopped node: writes to its folders fail within seconds, the pool is degraded or unhealthy, and put fails over', async () => {
    const options = cluster.poolOptions({ connectTimeoutMs: 500, commandTimeoutMs: 1000 });
    const { backend, prefix } = backendOn({ keyPrefix: options.keyPrefix, connectTimeoutMs: 500, commandTimeoutMs: 1000 });
    // One stream per node: find where each stream's folder lives.
    const streams = Array.from({ length: 12 }, (_, i) => `s${i}`);
    await Promise.all(streams.map((s) => backend.write(`hls/${s}/segment_0.ts`, Buffer.from('x'))));
    const byNode = await keysByNode(prefix);
    const nodeOf = (stream: string) => byNode.findIndex((keys) => keys.some((k) => k.endsWith(`i:hls/${stream}/`)));
    const victim = 1;
    const doomed = streams.find((s) => nodeOf(s) === victim)!;
    expect(doomed).toBeDefined();

    const cwd = await workdir({
      pools: [
        { name: 'rc', priority: 1, backend: options },
        { name: 'disk', priority: 2, backend: { type: 'local', root: './disk', createRoot: true } },
      ],
    });
    await writeFile(path.join(cwd, 'segment_1.ts'), Buffer.from('one'));
    await writeFile(path.join(cwd, 'segment_2.ts'), Buffer.from('two'));
    const put = async (id: number) => {
      const result = await cli(['put', doomed, `segment_${id}.ts`, '--json'], { cwd });
      expect(result.code, result.stderr).toBe(0);
      const segment = result.json<{ segments: { pool: string; failedOver: { pool: string }[] }[] }>().segments[0]!;
      return { pool: segment.pool, failedOver: segment.failedOver.map((f) => f.pool) };
    };
    expect(await put(1)).toEqual({ pool: 'rc', failedOver: [] });

    await cluster.nodes[victim]!.stop();
    try {
      const started = Date.now();
      const error = await backend.write(`hls/${doomed}/segment_9.ts`, Buffer.from('y')).catch((e: unknown) => e);
      expect(isStorageError(error) && `${error.code} ${error.message}`).toMatch(/^Unavailable /);
      expect(Date.now() - started).toBeLessThan(5000);
      await expect(backend.usage()).rejects.toMatchObject({ code: 'Unavailable' });

      const failing = Date.now();
      expect(await put(2)).toEqual({ pool: 'disk', failedOver: ['rc'] });
      expect(Date.now() - failing).toBeLessThan(8000);
      const status = await cli(['pools', 'status', '--json'], { cwd });
      expect(status.code).toBe(1);
      expect(['degraded', 'unhealthy']).toContain(status.json<{ pools: { name: string; health: string }[] }>().pools.find((p) => p.name === 'rc')?.health);
    } finally {
      await cluster.nodes[victim]!.start();
      await backend.close();
    }
  }, 60_000);
});

describe('redis cluster options', () => {
  it('refuses both url and cluster, or neither, naming url; and braces in a cluster keyPrefix', () => {
    const issue = (options: Record<string, unknown>) => {
      const result = v.safeParse(redisOptionsSchema, { type: 'redis', ...options });
      return result.success ? undefined : [v.getDotPath(result.issues[0]), result.issues[0].message];
    };
    expect(issue({ url: 'redis://127.0.0.1:1', cluster: ['redis://127.0.0.1:2'] })).toEqual(['url', 'set either url (one server) or cluster (a list of node URLs), not both']);
    expect(issue({})?.[0]).toBe('url');
    expect(issue({ cluster: [] })?.[0]).toBe('cluster');
    expect(issue({ cluster: ['http://127.0.0.1:2'] })?.[0]).toBe('cluster.0');
    expect(issue({ cluster: ['redis://127.0.0.1:2'], keyPrefix: 'a{b}:' })).toEqual(['keyPrefix', 'must not contain { or } in a cluster pool']);
    expect(issue({ cluster: ['redis://127.0.0.1:2'] })).toBeUndefined();
    expect(issue({ url: 'redis://127.0.0.1:2', keyPrefix: 'a{b}:' })).toBeUndefined();
  });
});
