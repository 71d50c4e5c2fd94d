// Helpers for the benchmark harness (bench/run.mjs): processes, servers, hyperfine, statistics.
// Plain Node ESM, no dependencies beyond what the project already installs.

import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { mkdir, readFile } from 'node:fs/promises';
import net from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const BENCH_DIR = path.dirname(fileURLToPath(import.meta.url));
export const REPO = path.dirname(BENCH_DIR);
export const DATA = path.join(BENCH_DIR, '.data');
export const AWS = '/usr/bin/aws';

/** Runs a command; resolves { code, stdout, stderr }. Rejects on a non-zero exit unless allowFail. */
export function run(cmd, args, { env = process.env, cwd = REPO, allowFail = false, input } = {}) {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { env, cwd, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code, signal) => {
      if ((code !== 0 || signal) && !allowFail) {
        reject(new Error(`${cmd} ${args.join(' ')} exited ${code ?? signal}\n${stderr.slice(-2000)}${stdout.slice(-1000)}`));
      } else resolve({ code, stdout, stderr });
    });
    child.stdin.end(input);
  });
}

export function which(cmd) {
  return spawnSync('sh', ['-c', `command -v ${cmd}`], { encoding: 'utf8' }).stdout.trim() || undefined;
}

export function log(...parts) {
  process.stderr.write(`[bench ${new Date().toISOString().slice(11, 19)}] ${parts.join(' ')}\n`);
}

export function freePort() {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

// ---------------------------------------------------------------------------------------------
// Servers. Each start function returns { port, stop() }; stop is idempotent and synchronous-safe
// (it is also called from exit handlers).

export async function startS3rver(directory, buckets, requestLog) {
  await mkdir(directory, { recursive: true });
  const args = ['--openssl-legacy-provider', path.join(REPO, 'test/support/s3rver-server.mjs'), '--directory', directory, '--port', '0'];
  for (const b of buckets) args.push('--bucket', b);
  if (requestLog) args.push('--request-log', requestLog);
  const child = spawn(process.execPath, args, { cwd: REPO, stdio: ['ignore', 'pipe', 'pipe'] });
  let stderrTail = '';
  child.stderr.on('data', (d) => (stderrTail = (stderrTail + d).slice(-4000)));
  let stopped = false;
  let exited;
  child.on('exit', (code, signal) => {
    exited = { code, signal };
    if (!stopped) log(`s3rver (pid ${child.pid}) exited unexpectedly: code ${code}, signal ${signal}\n${stderrTail}`);
  });
  const port = await new Promise((resolve, reject) => {
    let buf = '';
    const onData = (d) => {
      buf += d;
      const nl = buf.indexOf('\n');
      if (nl === -1) return;
      child.stdout.off('data', onData);
      try {
        resolve(JSON.parse(buf.slice(0, nl)).port);
      } catch (e) {
        reject(new Error(`s3rver said: ${buf}`));
      }
    };
    child.stdout.on('data', onData);
    child.on('exit', (code) => reject(new Error(`s3rver exited ${code} before listening`)));
    setTimeout(() => reject(new Error('s3rver did not start in 20 s')), 20000).unref();
  });
  child.stdout.resume();
  return {
    port,
    pid: child.pid,
    alive: () => exited === undefined,
    stop() {
      if (stopped) return;
      stopped = true;
      try {
        child.kill('SIGTERM');
      } catch {}
    },
  };
}

export async function startRedis(directory) {
  await mkdir(directory, { recursive: true });
  const port = await freePort();
  const pidfile = path.join(directory, 'redis.pid');
  await run('redis-server', [
    '--bind', '127.0.0.1', '--port', String(port), '--save', '', '--appendonly', 'no', '--daemonize', 'yes',
    '--dir', directory, '--pidfile', pidfile, '--logfile', path.join(directory, 'redis.log'),
  ]);
  // Wait for it to answer.
  const deadline = Date.now() + 10000;
  for (;;) {
    const r = await run('redis-cli', ['-h', '127.0.0.1', '-p', String(port), 'ping'], { allowFail: true });
    if (r.stdout.trim() === 'PONG') break;
    if (Date.now() > deadline) throw new Error(`redis-server on ${port} did not answer: ${r.stderr}`);
    await new Promise((res) => setTimeout(res, 100));
  }
  let pid;
  try {
    pid = Number(readFileSync(pidfile, 'utf8').trim());
  } catch {}
  let stopped = false;
  return {
    port,
    pid,
    stop() {
      if (stopped) return;
      stopped = true;
      // Kill by the pid we started (never by name).
      try {
        const p = pid ?? Number(readFileSync(pidfile, 'utf8').trim());
        if (p > 0) process.kill(p, 'SIGTERM');
      } catch {}
    },
  };
}

// ---------------------------------------------------------------------------------------------
// Object counting in s3rver's directory (the state check after each scenario).

/** Number of objects s3rver stores under `dir` (its files named `<key>._S3rver_object`). */
export function countS3rverObjects(dir) {
  if (!existsSync(dir)) return 0;
  let n = 0;
  const walk = (d) => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      if (e.isDirectory()) walk(path.join(d, e.name));
      else if (e.name.endsWith('._S3rver_object')) n++;
    }
  };
  walk(dir);
  return n;
}

export function countFiles(dir) {
  if (!existsSync(dir)) return 0;
  let n = 0;
  const walk = (d) => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      if (e.isDirectory()) walk(path.join(d, e.name));
      else n++;
    }
  };
  walk(dir);
  return n;
}

export function dirBytes(dir) {
  let n = 0;
  const walk = (d) => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const p = path.join(d, e.name);
      if (e.isDirectory()) walk(p);
      else n += statSync(p).size;
    }
  };
  walk(dir);
  return n;
}

// ---------------------------------------------------------------------------------------------
// hyperfine

/**
 * Benchmarks one command with hyperfine (no shell: -N) and returns its result object
 * ({ command, median, min, max, mean, times, ... }) or { error } when it failed.
 */
export async function hyperfine({ name, command, prepare, runs, warmup = 0, env, jsonFile }) {
  const args = ['-N', '--style', 'basic', '--runs', String(runs), '--warmup', String(warmup), '--export-json', jsonFile, '-n', name];
  if (prepare) args.push('--prepare', prepare);
  args.push(command);
  log(`hyperfine: ${name}${runs > 1 ? ` (${runs} runs)` : ''}`);
  const r = await run('hyperfine', args, { env, allowFail: true });
  if (r.code !== 0) {
    log(`  FAILED: ${r.stderr.trim().split('\n').slice(-5).join(' | ')}`);
    return { name, command, error: r.stderr.trim().split('\n').slice(-3).join(' ') };
  }
  const json = JSON.parse(await readFile(jsonFile, 'utf8'));
  const res = json.results[0];
  return { name, command, median: res.median, min: res.min, max: res.max, mean: res.mean, times: res.times, runs: res.times.length, cpu: res.user + res.system };
}

export function fmtS(s) {
  if (s === undefined || s === null || Number.isNaN(s)) return '–';
  if (s < 1) return `${(s * 1000).toFixed(s < 0.1 ? 1 : 0)} ms`;
  return `${s.toFixed(2)} s`;
}

export function median(xs) {
  const a = [...xs].sort((x, y) => x - y);
  const m = a.length >> 1;
  return a.length % 2 ? a[m] : (a[m - 1] + a[m]) / 2;
}

/** Shell-quotes one word for a hyperfine -N command line (which is split shell-words style). */
export function q(word) {
  return /^[A-Za-z0-9_./:=@%+,-]+$/.test(word) ? word : `'${String(word).replace(/'/g, `'\\''`)}'`;
}
export function cmdline(words) {
  return words.map(q).join(' ');
}
