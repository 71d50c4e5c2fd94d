// A private redis-server for the tests: daemonized on 127.0.0.1 and a free port, with a fresh
// folder for its pid and log files and no persistence. Every server started here is shut down when
// the test process exits, however it exits.

import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { createServer, connect } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Redis } from 'ioredis';
import { describeIfInstalled } from './needs.js';

export const REDIS_INSTALL_HINT = 'redis-server is not installed: apt-get install -y redis-server';

/** The `backend` object of a pool config that points at this server. */
export interface RedisPoolOptions {
  type: 'redis';
  url: string;
  keyPrefix: string;
  [option: string]: unknown;
}

export interface RedisTestServer {
  /** `redis://127.0.0.1:PORT` (with the password when the server has one). */
  readonly url: string;
  readonly port: number;
  /** A pool `backend` object for this server, with a keyPrefix unique to this call. */
  poolOptions(extra?: Record<string, unknown>): RedisPoolOptions;
  /** Sends one command on a separate admin connection (INFO, CONFIG RESETSTAT, ZCARD...). */
  command(name: string, ...args: (string | number)[]): Promise<unknown>;
  /** Shuts the server down; the port is kept for start(). */
  stop(): Promise<void>;
  /** Starts it again on the same port. */
  start(): Promise<void>;
  /** Shuts the server down and removes its folder. */
  close(): Promise<void>;
}

export interface StartRedisOptions {
  /** e.g. '4mb'; the policy is then noeviction, so a full server refuses writes with OOM. */
  maxmemory?: string;
  requirepass?: string;
  /** More redis-server arguments (e.g. '--cluster-enabled', 'yes'). */
  args?: string[];
}

const START_TIMEOUT_MS = 10_000;
const STOP_TIMEOUT_MS = 10_000;

let available: boolean | undefined;
export function redisServerAvailable(): boolean {
  available ??= spawnSync('redis-server', ['--version'], { stdio: 'ignore' }).status === 0;
  return available;
}

/**
 * describe() that needs redis-server: without it, the suite fails on CI (with the install hint)
 * and is skipped elsewhere (printing the same hint).
 */
export function describeWithRedis(name: string, body: () => void): void {
  describeIfInstalled(redisServerAvailable(), REDIS_INSTALL_HINT, name, body);
}

/** Pids of servers still running, killed when the test process exits. */
const running = new Set<number>();
let exitHookInstalled = false;
function track(pid: number): void {
  running.add(pid);
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.once('exit', () => {
    for (const pid of running) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
  });
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => (typeof address === 'object' && address !== null ? resolve(address.port) : reject(new Error('no port'))));
    });
  });
}

/** True once the server answers anything to PING (a password-protected one answers NOAUTH). */
async function answers(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    const done = (up: boolean): void => {
      socket.destroy();
      resolve(up);
    };
    socket.setTimeout(500, () => done(false));
    socket.once('error', () => done(false));
    socket.once('connect', () => socket.write('PING\r\n'));
    socket.once('data', () => done(true));
  });
}

async function waitFor(condition: () => Promise<boolean>, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  // A zombie (no init reaping it in a container) still answers kill 0; /proc tells the truth.
  try {
    return !/^State:\s+Z/m.test(readFileSync(`/proc/${pid}/status`, 'utf8'));
  } catch {
    return false;
  }
}

export async function startRedis(options: StartRedisOptions = {}): Promise<RedisTestServer> {
  const dir = await mkdtemp(path.join(tmpdir(), 'flux-redis-'));
  const port = await freePort();
  const pidFile = path.join(dir, 'redis.pid');
  const logFile = path.join(dir, 'redis.log');
  const password = options.requirepass;
  const url = password === undefined ? `redis://127.0.0.1:${port}` : `redis://:${encodeURIComponent(password)}@127.0.0.1:${port}`;
  let pid: number | undefined;
  let admin: Redis | undefined;

  const args = ['--bind', '127.0.0.1', '--port', String(port), '--save', '', '--appendonly', 'no', '--daemonize', 'yes'];
  args.push('--dir', dir, '--pidfile', pidFile, '--logfile', logFile);
  if (options.maxmemory !== undefined) args.push('--maxmemory', options.maxmemory, '--maxmemory-policy', 'noeviction');
  if (password !== undefined) args.push('--requirepass', password);
  args.push(...(options.args ?? []));

  const start = async (): Promise<void> => {
    const launched = spawnSync('redis-server', args, { encoding: 'utf8' });
    if (launched.status !== 0) throw new Error(`redis-server did not start: ${launched.stderr || launched.stdout}`);
    try {
      await waitFor(async () => existsSync(pidFile) && (await answers(port)), START_TIMEOUT_MS, `redis-server on port ${port}`);
    } catch (error) {
      const log = await readFile(logFile, 'utf8').catch(() => '');
      throw new Error(`${(error as Error).message}\n${log.slice(-2000)}`);
    }
    pid = Number((await readFile(pidFile, 'utf8')).trim());
    track(pid);
  };

  const stop = async (): Promise<void> => {
    admin?.disconnect();
    admin = undefined;
    if (pid === undefined) return;
    const stopping = pid;
    pid = undefined;
    try {
      process.kill(stopping, 'SIGTERM');
    } catch {
      // already gone
    }
    await waitFor(async () => !alive(stopping) && !(await answers(port)), STOP_TIMEOUT_MS, `redis-server ${stopping} to stop`);
    running.delete(stopping);
  };

  await start();
  return {
    url,
    port,
    poolOptions: (extra = {}) => ({ type: 'redis', url, keyPrefix: `t${randomBytes(4).toString('hex')}:`, ...extra }),
    command: async (name, ...commandArgs) => {
      if (admin === undefined) {
        admin = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 0, commandTimeout: 10_000 });
        admin.on('error', () => undefined);
      }
      return admin.call(name, ...commandArgs);
    },
    stop,
    start,
    close: async () => {
      await stop();
      await rm(dir, { recursive: true, force: true });
    },
  };
}
