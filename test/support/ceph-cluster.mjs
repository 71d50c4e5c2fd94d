#!/usr/bin/env node
// A private single-node Ceph cluster with a RADOS Gateway (a real S3 server) on 127.0.0.1, for the
// tests (test/support/ceph.ts) and the benchmarks (bench/run.mjs): one monitor, one OSD on memstore
// (memory only), one radosgw, no cephx, every file in a fresh temporary folder. The recipe and the
// ceph.conf settings that matter are in ../shared/reference/ceph-rgw.md. Plain .mjs so that plain
// `node` can use it; types in ceph-cluster.d.mts.
//
//   node test/support/ceph-cluster.mjs [--bucket NAME]...
//
// run alone, it starts a cluster, prints one JSON line {"event":"ready","endpoint",...} and keeps
// it until SIGINT/SIGTERM (or until its parent dies), then stops the daemons and removes the folder.
//
// The daemons run in the foreground (-f) as children of this process; each is stopped by its PID.
// radosgw logs one access line per request ("beast: ... "GET /b?list-type=2 HTTP/1.1" 200 ..."),
// which requests() reads back: the request log the tests and the benchmark count.

import { spawn } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer, connect } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const CEPH_INSTALL_HINT = 'radosgw is not installed: apt-get install -y --no-install-recommends ceph-mon ceph-osd radosgw';

const START_TIMEOUT_MS = 60_000;
const STOP_TIMEOUT_MS = 10_000;
/**
 * The memstore OSD's capacity. Not a multiple of 4 GiB: the OSD's full check sees it truncated to
 * 32 bits (8 GiB reads as 0 bytes, every write then finds the OSD "full" and hangs).
 */
const MEMSTORE_BYTES = Number(process.env.FLUX_CEPH_MEMSTORE_BYTES ?? 3 * 2 ** 30);
/** Ports the OSD may bind (it binds several: public, cluster and two heartbeat addresses). */
const BIND_PORTS = 20;

/** Pids still running, killed when this process exits however it exits. */
const running = new Set();
let exitHookInstalled = false;
function track(pid) {
  running.add(pid);
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.once('exit', () => {
    for (const p of running) {
      try {
        process.kill(p, 'SIGKILL');
      } catch {
        // already gone
      }
    }
  });
}

function portFree(port) {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });
}

/**
 * A block of `count` consecutive free ports below Linux's ephemeral range (32768+), so that no
 * outgoing connection takes one of them between this check and the daemons binding.
 */
async function freePortBlock(count) {
  for (let attempt = 0; attempt < 50; attempt++) {
    const base = 10_000 + Math.floor(Math.random() * (32_000 - 10_000 - count));
    let ok = true;
    for (let p = base; p < base + count && ok; p++) ok = await portFree(p);
    if (ok) return base;
  }
  throw new Error(`no block of ${count} free ports found on 127.0.0.1`);
}

function answersTcp(port) {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    const done = (up) => {
      socket.destroy();
      resolve(up);
    };
    socket.setTimeout(500, () => done(false));
    socket.once('error', () => done(false));
    socket.once('connect', () => done(true));
  });
}

async function answersHttp(port) {
  try {
    const response = await fetch(`http://127.0.0.1:${port}/`, { signal: AbortSignal.timeout(2000) });
    await response.arrayBuffer();
    return response.status === 200;
  } catch {
    return false;
  }
}

async function waitFor(condition, timeoutMs, what, failed) {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    const problem = failed?.();
    if (problem) throw new Error(`${what}: ${problem}`);
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 30));
  }
}

/** Runs a Ceph tool to completion; rejects with its output on a non-zero exit. */
function tool(command, args, env) {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (out += d));
    child.once('error', (error) => reject(error.code === 'ENOENT' ? new Error(CEPH_INSTALL_HINT) : error));
    child.once('close', (code) => (code === 0 ? resolve(out) : reject(new Error(`${command} ${args.join(' ')} exited ${code}: ${out.slice(-2000)}`))));
  });
}

function cephConf({ dir, fsid, monPort, rgwPort, bindMin, bindMax }) {
  return `[global]
fsid = ${fsid}
mon_host = v2:127.0.0.1:${monPort}
public_addr = 127.0.0.1
cluster_addr = 127.0.0.1
ms_bind_msgr1 = false
ms_bind_ipv6 = false
ms_bind_port_min = ${bindMin}
ms_bind_port_max = ${bindMax}
auth_cluster_required = none
auth_service_required = none
auth_client_required = none
ms_mon_client_mode = crc
ms_client_mode = crc
ms_mon_cluster_mode = crc
ms_cluster_mode = crc
ms_mon_service_mode = crc
ms_service_mode = crc
osd_pool_default_size = 1
osd_pool_default_min_size = 1
osd_pool_default_pg_num = 8
osd_pool_default_pgp_num = 8
osd_pool_default_pg_autoscale_mode = off
mon_allow_pool_size_one = true
osd_crush_chooseleaf_type = 0
mon_max_pg_per_osd = 1000
osd_objectstore = memstore
memstore_device_bytes = ${MEMSTORE_BYTES}
paxos_propose_interval = 0.1
mon_data_avail_crit = 1
log_file = ${dir}/$name.log
admin_socket = ${dir}/run/$name.asok
pid_file = ${dir}/run/$name.pid
run_dir = ${dir}/run
crash_dir = ${dir}/crash
[mon]
mon_data = ${dir}/mon/$id
[osd]
osd_data = ${dir}/osd/$id
[client.rgw.a]
rgw_data = ${dir}/rgw
rgw_frontends = beast endpoint=127.0.0.1:${rgwPort} tcp_nodelay=1
# Level 1: one access line per request in the log, read back by requests().
debug_rgw = 1
`;
}

function alive(pid) {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  try {
    return !/^State:\s+Z/m.test(readFileSync(`/proc/${pid}/status`, 'utf8'));
  } catch {
    return false;
  }
}

/** One daemon in the foreground: its pid, and why it exited if it did. */
function daemon(command, args, env) {
  const child = spawn(command, [...args, '-f'], { env, stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (d) => (stderr = (stderr + d).slice(-2000)));
  const state = { child, pid: child.pid, exited: undefined };
  child.once('error', (error) => (state.exited = error.code === 'ENOENT' ? CEPH_INSTALL_HINT : String(error)));
  child.once('exit', (code, signal) => {
    running.delete(child.pid);
    state.exited ??= `${command} exited (${code ?? signal}) ${stderr.trim()}`;
  });
  if (child.pid !== undefined) track(child.pid);
  return state;
}

async function stopDaemon(state) {
  if (state === undefined || state.exited !== undefined) return;
  const exited = new Promise((resolve) => state.child.once('exit', resolve));
  state.child.kill('SIGTERM');
  const timer = setTimeout(() => state.child.kill('SIGKILL'), STOP_TIMEOUT_MS);
  await exited;
  clearTimeout(timer);
}

const ACCESS_LINE = / beast: \S+ \S+ - \S+ \[[^\]]*\] "(\S+) (\S+) HTTP\/[\d.]+" (\d+) /;

/**
 * Starts a cluster. Options: buckets (created at start, default none), dir (a parent for the
 * temporary folder). Resolves once radosgw answers and the user and buckets exist.
 */
export async function startCephCluster({ buckets = [], parentDir = tmpdir() } = {}) {
  const dir = await mkdtemp(path.join(parentDir, 'flux-ceph-'));
  const started = Date.now();
  for (const sub of ['mon/a', 'osd/0', 'rgw', 'run', 'crash']) await mkdir(path.join(dir, sub), { recursive: true });
  const base = await freePortBlock(BIND_PORTS + 2);
  const monPort = base;
  const rgwPort = base + 1;
  const fsid = randomUUID();
  const conf = path.join(dir, 'ceph.conf');
  await writeFile(conf, cephConf({ dir, fsid, monPort, rgwPort, bindMin: base + 2, bindMax: base + 1 + BIND_PORTS }));
  const env = { ...process.env, CEPH_CONF: conf };
  const accessKeyId = `FLUX${randomBytes(8).toString('hex').toUpperCase()}`;
  const secretAccessKey = randomBytes(20).toString('base64url');
  const endpoint = `http://127.0.0.1:${rgwPort}`;
  const rgwLog = path.join(dir, 'client.rgw.a.log');
  let mon;
  let osd;
  let rgw;

  const startGateway = async () => {
    if (rgw !== undefined && rgw.exited === undefined) return;
    rgw = daemon('radosgw', ['-n', 'client.rgw.a'], env);
    const current = rgw;
    await waitFor(() => answersHttp(rgwPort), START_TIMEOUT_MS, `radosgw on port ${rgwPort}`, () => current.exited);
  };
  const stopAll = async () => {
    await stopDaemon(rgw);
    await stopDaemon(osd);
    await stopDaemon(mon);
  };

  try {
    const monmap = path.join(dir, 'monmap');
    await tool('monmaptool', ['--create', '--add', 'a', `v2:127.0.0.1:${monPort}`, '--fsid', fsid, monmap], env);
    await tool('ceph-mon', ['--mkfs', '-i', 'a', '--monmap', monmap], env);
    mon = daemon('ceph-mon', ['-i', 'a'], env);
    await waitFor(() => answersTcp(monPort), START_TIMEOUT_MS, `ceph-mon on port ${monPort}`, () => mon.exited);
    const osdUuid = randomUUID();
    const id = (await tool('ceph', ['--connect-timeout', '20', 'osd', 'new', osdUuid], env)).trim();
    if (id !== '0') throw new Error(`ceph osd new answered "${id}", expected 0`);
    await tool('ceph-osd', ['-i', '0', '--mkfs', '--osd-uuid', osdUuid], env);
    osd = daemon('ceph-osd', ['-i', '0'], env);
    // radosgw-admin creates RGW's pools (waiting for the OSD to come up) and the user before
    // radosgw starts, so that radosgw knows the user from its first request.
    await tool('radosgw-admin', ['user', 'create', '--uid=flux', '--display-name=flux', `--access-key=${accessKeyId}`, `--secret-key=${secretAccessKey}`], env);
    await startGateway();
  } catch (error) {
    await stopAll();
    const log = await readFile(rgwLog, 'utf8').catch(() => '');
    await rm(dir, { recursive: true, force: true });
    throw new Error(`${error.message}${log ? `\nradosgw log:\n${log.slice(-1500)}` : ''}`);
  }

  let client;
  const s3 = async () => {
    if (client === undefined) {
      const { S3Client } = await import('@aws-sdk/client-s3');
      client = new S3Client({
        endpoint,
        region: 'us-east-1',
        forcePathStyle: true,
        credentials: { accessKeyId, secretAccessKey },
        requestChecksumCalculation: 'WHEN_REQUIRED',
        responseChecksumValidation: 'WHEN_REQUIRED',
      });
    }
    return client;
  };
  const createBucket = async (name) => {
    const { CreateBucketCommand } = await import('@aws-sdk/client-s3');
    const c = await s3();
    // The first signed requests can fail while radosgw loads the new user.
    const deadline = Date.now() + 10_000;
    for (;;) {
      try {
        await c.send(new CreateBucketCommand({ Bucket: name }));
        return;
      } catch (error) {
        if (Date.now() > deadline || !['InvalidAccessKeyId', 'SignatureDoesNotMatch', 'AccessDenied'].includes(error.name)) throw error;
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    }
  };
  try {
    for (const name of buckets) await createBucket(name);
  } catch (error) {
    client?.destroy();
    await stopAll();
    await rm(dir, { recursive: true, force: true });
    throw error;
  }

  let logOffset = 0;
  let marks = 0;
  /**
   * Waits until radosgw's log holds the lines of every request answered so far. radosgw logs a
   * request's access line just after sending its answer, from another thread, so a mark request
   * sent now can be logged before it: two marks, a round trip and a pause apart, leave it the time.
   */
  const settleLog = async () => {
    for (let round = 0; round < 2; round++) {
      const mark = `/flux-log-mark-${process.pid}-${++marks}`;
      await fetch(`${endpoint}${mark}`).then((r) => r.arrayBuffer(), () => undefined);
      await waitFor(async () => (await readFile(rgwLog, 'latin1')).includes(`"GET ${mark} `), 10_000, 'radosgw to log a request');
      if (round === 0) await new Promise((resolve) => setTimeout(resolve, 150));
    }
  };

  return {
    dir,
    endpoint,
    port: rgwPort,
    accessKeyId,
    secretAccessKey,
    startMs: Date.now() - started,
    pids: () => ({ mon: mon?.pid, osd: osd?.pid, rgw: rgw?.exited === undefined ? rgw?.pid : undefined }),
    createBucket,
    /** Requests radosgw answered since the start or the last resetRequests(), oldest first. */
    async requests() {
      await settleLog();
      const text = (await readFile(rgwLog, 'latin1')).slice(logOffset);
      const requests = [];
      for (const line of text.split('\n')) {
        const m = ACCESS_LINE.exec(line);
        if (m === null || m[2].startsWith('/flux-log-mark-')) continue;
        const [target, query = ''] = m[2].split(/\?(.*)/s);
        requests.push({ method: m[1], path: target, query, status: Number(m[3]) });
      }
      return requests;
    },
    async resetRequests() {
      await settleLog();
      logOffset = (await readFile(rgwLog, 'latin1')).length;
    },
    /** Resident memory of the three daemons, in bytes. */
    async rssBytes() {
      let total = 0;
      for (const pid of Object.values(this.pids())) {
        if (pid === undefined) continue;
        const status = await readFile(`/proc/${pid}/status`, 'utf8').catch(() => '');
        total += Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0) * 1024;
      }
      return total;
    },
    /** Stops radosgw only (the S3 endpoint goes away; the cluster keeps its data). */
    async stopGateway() {
      await stopDaemon(rgw);
      await waitFor(async () => !(await answersTcp(rgwPort)), STOP_TIMEOUT_MS, `radosgw to stop listening on ${rgwPort}`);
    },
    /** Starts radosgw again on the same port. */
    startGateway,
    async close() {
      client?.destroy();
      client = undefined;
      await stopAll();
      for (const state of [rgw, osd, mon]) {
        if (state?.pid !== undefined) await waitFor(async () => !alive(state.pid), STOP_TIMEOUT_MS, `pid ${state.pid} to exit`).catch(() => undefined);
      }
      await rm(dir, { recursive: true, force: true });
    },
  };
}

// Run alone: start, print the ready line, then answer one JSON request per stdin line
// ({"id":1,"op":"createBucket","args":["b"]} → {"id":1,"result":...} or {"id":1,"error":"..."}; the
// ops are the methods above) until stdin closes, a signal comes or the parent dies: then stop.
if (process.argv[1] !== undefined && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const { parseArgs } = await import('node:util');
  const { createInterface } = await import('node:readline');
  const { values } = parseArgs({ options: { bucket: { type: 'string', multiple: true, default: [] } }, strict: true });
  const parentPid = process.ppid;
  const cluster = await startCephCluster({ buckets: values.bucket });
  let closing;
  const close = () => {
    closing ??= cluster.close().then(() => process.exit(0));
    return closing;
  };
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP']) process.on(signal, close);
  setInterval(() => {
    if (process.ppid !== parentPid) void close();
  }, 500).unref();
  const ops = new Set(['createBucket', 'requests', 'resetRequests', 'rssBytes', 'stopGateway', 'startGateway', 'pids']);
  const send = (message) => process.stdout.write(`${JSON.stringify(message)}\n`);
  createInterface({ input: process.stdin })
    .on('line', async (line) => {
      const { id, op, args = [] } = JSON.parse(line);
      try {
        if (!ops.has(op)) throw new Error(`unknown op ${op}`);
        send({ id, result: (await cluster[op](...args)) ?? null });
      } catch (error) {
        send({ id, error: error instanceof Error ? error.message : String(error) });
      }
    })
    .once('close', close);
  const { dir, endpoint, port, accessKeyId, secretAccessKey, startMs } = cluster;
  send({ event: 'ready', dir, endpoint, port, accessKeyId, secretAccessKey, startMs, pids: cluster.pids() });
}
