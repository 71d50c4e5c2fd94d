// A private Redis Cluster for the tests: three masters (no replicas) on 127.0.0.1 and free ports,
// each a private redis-server (./redis.ts) with cluster mode on, joined by `redis-cli --cluster
// create`. A short cluster-node-timeout, so that a stopped node is noticed within seconds.

import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { startRedis, type RedisTestServer } from './redis.js';

export interface RedisClusterPoolOptions {
  type: 'redis';
  cluster: string[];
  keyPrefix: string;
  [option: string]: unknown;
}

export interface RedisTestCluster {
  readonly nodes: readonly RedisTestServer[];
  /** A pool `backend` object naming every node, with a keyPrefix unique to this call. */
  poolOptions(extra?: Record<string, unknown>): RedisClusterPoolOptions;
  /** The node (index into nodes) serving the slot of a Redis key. */
  nodeOf(redisKey: string): Promise<number>;
  close(): Promise<void>;
}

const NODE_TIMEOUT_MS = 2000;
const READY_TIMEOUT_MS = 20_000;

function redisCli(args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn('redis-cli', args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (out += d));
    child.once('error', reject);
    child.once('close', (code) => (code === 0 ? resolve(out) : reject(new Error(`redis-cli ${args.join(' ')} exited ${code}: ${out}`))));
  });
}

export async function startRedisCluster({ masters = 3, maxmemory }: { masters?: number; maxmemory?: string } = {}): Promise<RedisTestCluster> {
  const args = ['--cluster-enabled', 'yes', '--cluster-node-timeout', String(NODE_TIMEOUT_MS), '--cluster-config-file', 'nodes.conf'];
  const nodes = await Promise.all(Array.from({ length: masters }, () => startRedis({ args, ...(maxmemory === undefined ? {} : { maxmemory }) })));
  try {
    await redisCli(['--cluster', 'create', ...nodes.map((n) => `127.0.0.1:${n.port}`), '--cluster-replicas', '0', '--cluster-yes']);
    const deadline = Date.now() + READY_TIMEOUT_MS;
    for (const node of nodes) {
      while (!/cluster_state:ok/.test(String(await node.command('CLUSTER', 'INFO')))) {
        if (Date.now() > deadline) throw new Error(`the Redis cluster on ${nodes.map((n) => n.port).join(', ')} did not become ready`);
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
    }
  } catch (error) {
    await Promise.all(nodes.map((n) => n.close()));
    throw error;
  }
  return {
    nodes,
    poolOptions: (extra = {}) => ({ type: 'redis', cluster: nodes.map((n) => n.url), keyPrefix: `t${randomBytes(4).toString('hex')}:`, ...extra }),
    async nodeOf(redisKey) {
      const slot = Number(await nodes[0]!.command('CLUSTER', 'KEYSLOT', redisKey));
      const ranges = (await nodes[0]!.command('CLUSTER', 'SLOTS')) as [number, number, [string, number]][];
      const owner = ranges.find(([from, to]) => slot >= from && slot <= to)?.[2][1];
      return nodes.findIndex((n) => n.port === owner);
    },
    close: async () => {
      await Promise.all(nodes.map((n) => n.close()));
    },
  };
}
