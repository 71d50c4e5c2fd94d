// A silent server never holds the CLI (issue 11 point 3): against an endpoint that accepts TCP and
// never answers, every command of the BUILT binary reports the pool as timed out and exits within
// the pool's bound (attempts × timeoutMs + backoff), for an S3, an OSS and a Redis pool. And
// Ctrl-C, SIGTERM and SIGHUP stop a command at once (in-flight calls aborted), with the same
// summary and exit code.

import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSilentServer, type SilentServer } from '../support/silent-server.js';
import { workdir } from './run.js';

const bin = fileURLToPath(new URL('../../bin/flux-storage.js', import.meta.url));
/** The dead pool's deadline of one attempt, and its retries. */
const TIMEOUT_MS = 1000;
const RETRIES = 1;
/** Start-up of node and the SDK, and scheduling on a loaded 2-core machine. */
const MARGIN_MS = 10_000;
/** A run that has not ended by then is killed, and the test fails on its time. */
const KILL_AFTER_MS = 90_000;

interface Run {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  ms: number;
}

interface Started {
  /** Resolves when the process has ended. */
  done: Promise<Run>;
  kill(signal: NodeJS.Signals): void;
}

function start(args: string[], cwd: string): Started {
  const began = performance.now();
  const child = spawn(process.execPath, [bin, ...args], { cwd, env: { PATH: process.env.PATH }, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  const killer = setTimeout(() => child.kill('SIGKILL'), KILL_AFTER_MS);
  const done = new Promise<Run>((resolve) => {
    child.on('close', (code, signal) => {
      clearTimeout(killer);
      resolve({ code, signal, stdout, stderr, ms: performance.now() - began });
    });
  });
  return { done, kill: (signal) => child.kill(signal) };
}

function run(args: string[], cwd: string): Promise<Run> {
  return start(args, cwd).done;
}

type DeadType = 's3' | 'oss' | 'redis';

/**
 * The backend options of a pool on the silent server, with the client's own timeouts left at (or
 * set above) what a user might have: the pool's deadline must bound them.
 */
function deadBackend(type: DeadType, port: number): Record<string, unknown> {
  const endpoint = `http://127.0.0.1:${port}`;
  switch (type) {
    case 's3':
      return { type, bucket: 'silent', endpoint, forcePathStyle: true, accessKeyId: 'id', secretAccessKey: 'secret' };
    case 'oss':
      return { type, bucket: 'silent', endpoint, accessKeyId: 'id', accessKeySecret: 'secret' };
    case 'redis':
      return { type, url: `redis://127.0.0.1:${port}`, commandTimeoutMs: 60_000 };
  }
}

/** A dead pool first (priority 1), a local one second, holding segment 1 of cam1. */
async function setup(type: DeadType, port: number, dead: { timeoutMs: number; retries: number } = { timeoutMs: TIMEOUT_MS, retries: RETRIES }) {
  const cwd = await workdir({
    pools: [
      { name: 'dead', priority: 1, ...dead, backend: deadBackend(type, port) },
      { name: 'local', priority: 2, backend: { type: 'local', root: './store', fsync: false } },
    ],
  });
  await mkdir(path.join(cwd, 'store/hls/cam1'), { recursive: true });
  await writeFile(path.join(cwd, 'store/hls/cam1/segment_1.ts'), Buffer.alloc(188, 0x47));
  await writeFile(path.join(cwd, 'segment_2.ts'), Buffer.alloc(188, 0x48));
  return cwd;
}

/** Pool attempts of one call: the S3 SDK makes its retries inside one attempt of the pool. */
function attempts(type: DeadType): number {
  return type === 's3' ? 1 : 1 + RETRIES;
}

/** What a command may take at most: two calls in a row to the dead pool, and the margin. */
function bound(type: DeadType): number {
  return 2 * attempts(type) * TIMEOUT_MS + MARGIN_MS;
}

const TIMED_OUT = /"?dead"?.*(did not answer within \d+ ms|timed out)|dead \((Timeout|Unavailable)/;

describe.each<DeadType>(['s3', 'oss', 'redis'])('a silent %s server', (type) => {
  let server: SilentServer;
  beforeAll(async () => {
    expect(existsSync(fileURLToPath(new URL('../../dist/cli/main.js', import.meta.url))), 'run `npm run build` (npm test does)').toBe(true);
    server = await startSilentServer();
  });
  afterAll(() => server.close());

  it.concurrent('ls reports the pool timed out and exits within its bound', async () => {
    const result = await run(['ls'], await setup(type, server.port));
    expect(result.stderr).toMatch(TIMED_OUT);
    expect(result.code).toBe(1);
    expect(result.ms).toBeLessThan(bound(type));
  });

  it.concurrent('get reports the pool timed out and exits within its bound', async () => {
    const result = await run(['get', 'cam1', '1', '--pool', 'dead', '-o', 'out.ts'], await setup(type, server.port));
    expect(result.stderr).toMatch(TIMED_OUT);
    expect(result.code).toBe(1);
    expect(result.ms).toBeLessThan(bound(type));
  });

  it.concurrent('put fails over to the local pool, which takes the segment, within the bound', async () => {
    const cwd = await setup(type, server.port);
    const result = await run(['put', 'cam1', 'segment_2.ts', '--json'], cwd);
    expect(result.code).toBe(0);
    expect(result.stderr).toMatch(TIMED_OUT);
    expect(JSON.parse(result.stdout)).toMatchObject({ segments: [{ id: 2, pool: 'local' }] });
    expect(await readFile(path.join(cwd, 'store/hls/cam1/segment_2.ts'))).toEqual(Buffer.alloc(188, 0x48));
    expect(result.ms).toBeLessThan(bound(type));
  });

  it.concurrent('rm reports the pool timed out and exits within its bound', async () => {
    const result = await run(['rm', 'cam1', '1'], await setup(type, server.port));
    expect(result.stderr).toMatch(TIMED_OUT);
    expect(result.code).toBe(1);
    expect(result.ms).toBeLessThan(bound(type));
  });

  it.concurrent('pools status reports the pool timed out and exits within its bound', async () => {
    const result = await run(['pools', 'status'], await setup(type, server.port));
    expect(result.stderr + result.stdout).toMatch(TIMED_OUT);
    expect(result.code).toBe(1);
    expect(result.ms).toBeLessThan(bound(type));
  });

  it.concurrent('cleanup reports the pool timed out, deletes nothing, and exits within its bound', async () => {
    const cwd = await setup(type, server.port);
    const result = await run(['cleanup', '--all', '--keep', '0'], cwd);
    expect(result.stderr).toMatch(TIMED_OUT);
    expect(result.code).toBe(1);
    expect(existsSync(path.join(cwd, 'store/hls/cam1/segment_1.ts'))).toBe(true);
    expect(result.ms).toBeLessThan(bound(type));
  });

  it.concurrent('migrate to the pool reports it timed out and exits within its bound', async () => {
    const result = await run(['migrate', '--from', 'local', '--to', 'dead'], await setup(type, server.port));
    expect(result.stderr).toMatch(TIMED_OUT);
    expect(result.code).toBe(1);
    expect(result.ms).toBeLessThan(bound(type));
  });
});

/**
 * What a run printed, without what differs between two runs of it (times, the signal's name, random
 * marker keys): a summary's counts and failure codes, or an error document's code and pool.
 */
function summary(run: Run): unknown {
  if (run.stdout.trim() === '') return '';
  const document = JSON.parse(run.stdout) as Record<string, unknown>;
  const error = document.error as { code: string; pool?: string } | undefined;
  if (error !== undefined && !('planned' in document)) return { error: { code: error.code, pool: error.pool } };
  const { durationMs: _duration, bytesPerSecond: _rate, failures, ...rest } = document;
  const codes = Array.isArray(failures) ? failures.map((f: { key: string; error: { code: string } }) => `${f.key} ${f.error.code}`).sort() : failures;
  return { ...rest, failures: codes };
}

describe('Ctrl-C, SIGTERM and SIGHUP while a call hangs on a silent server', () => {
  /** Far beyond the test's limits: only an abort of the call in flight ends the command in time. */
  const LONG_TIMEOUT_MS = 120_000;
  /** From the signal to the end of the process. */
  const STOP_WITHIN_MS = 5000;

  async function interrupted(args: string[], signal: NodeJS.Signals): Promise<Run & { afterSignalMs: number; cwd: string }> {
    const server = await startSilentServer();
    try {
      const cwd = await setup('oss', server.port, { timeoutMs: LONG_TIMEOUT_MS, retries: 0 });
      const started = start(args, cwd);
      await server.connected();
      const signalled = performance.now();
      started.kill(signal);
      const result = await started.done;
      return { ...result, afterSignalMs: performance.now() - signalled, cwd };
    } finally {
      await server.close();
    }
  }

  it('migrate stops at once with the same summary and exit code 130 for each', async () => {
    const args = ['migrate', '--from', 'local', '--to', 'dead', '--json'];
    const runs = [];
    for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) runs.push(await interrupted(args, signal));
    for (const result of runs) {
      expect(result.code).toBe(130);
      expect(result.afterSignalMs).toBeLessThan(STOP_WITHIN_MS);
      // Interrupted wherever the signal found it (the same-store check, a copy): never a timeout.
      expect(JSON.stringify(summary(result))).toMatch(/"code":"Interrupted"|"interrupted":true/);
    }
    expect(summary(runs[1]!)).toEqual(summary(runs[0]!));
    expect(summary(runs[2]!)).toEqual(summary(runs[0]!));
  });

  it('cleanup stops at once with the same output and exit code 130 for each, and deletes nothing', async () => {
    const args = ['cleanup', '--all', '--keep', '0', '--json'];
    const runs = [];
    for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) runs.push(await interrupted(args, signal));
    for (const result of runs) {
      expect(result.code).toBe(130);
      expect(result.afterSignalMs).toBeLessThan(STOP_WITHIN_MS);
      expect(existsSync(path.join(result.cwd, 'store/hls/cam1/segment_1.ts'))).toBe(true);
    }
    expect(summary(runs[1]!)).toEqual(summary(runs[0]!));
    expect(summary(runs[2]!)).toEqual(summary(runs[0]!));
  });

  it('cleanup after Ctrl-C says the listing was interrupted, not that it failed', async () => {
    const result = await interrupted(['cleanup', '--all', '--keep', '0'], 'SIGINT');
    expect(result.code).toBe(130);
    expect(result.stderr).toMatch(/listing interrupted, nothing deleted for the streams it holds/);
    expect(result.stderr).not.toMatch(/listing failed/);
  });
});
