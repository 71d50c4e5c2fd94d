#!/usr/bin/env node
// The benchmark harness: `npm run bench` (builds, then runs this). BENCH_QUICK=1 for a reduced
// smoke run (smaller sets, one run each; its report goes to bench/.data/RESULTS.quick.md).
//
// It makes synthetic data under bench/.data/, starts a private s3rver, redis-server and a
// single-node Ceph cluster with radosgw (a real S3 server; its cases are in bench/rgw.mjs) on
// 127.0.0.1, installs the peer tools from Debian when missing (rclone, awscli v2, hyperfine, time),
// measures flux-storage against them with hyperfine, and writes bench/RESULTS.md. Every server it
// started is stopped at the end, also on an error or Ctrl-C. No traffic leaves 127.0.0.1.

import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { readdir } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { ensureSet } from './dataset.mjs';
import {
  AWS, BENCH_DIR, DATA, REPO, cmdline, countS3rverObjects, fmtS, hyperfine, log, median, run, startRedis, startS3rver, which,
} from './lib.mjs';

// The RGW cases hold up to 2 GiB at once (migrate of 2,000 × 1 MiB), more than the tests' 3 GiB
// memstore OSD leaves room for after a run's other traffic; 3.75 GiB (the OSD reads the size as 32
// bits: it must stay under 4 GiB). Set before test/support/ceph-cluster.mjs is loaded (it reads it then).
process.env.FLUX_CEPH_MEMSTORE_BYTES ??= String(3.75 * 2 ** 30);
const { rgwScenarios } = await import('./rgw.mjs');

const QUICK = process.env.BENCH_QUICK === '1' || process.env.BENCH_QUICK === 'true';
/** BENCH_ONLY=rgw: the Ceph RGW cases alone (their report goes to bench/.data/RESULTS.rgw.md). */
const ONLY_RGW = process.env.BENCH_ONLY === 'rgw';
const MiB = 1 << 20;
const KiB = 1 << 10;
const CONCURRENCY = 16;

const P = QUICK
  ? { bigFiles: 100, smallStreams: 10, smallPer: 100, ls: 1000, redisFiles: 200, rssSmall: 20, rssLarge: 200,
      runsMigrate: 1, runsLs: 1, runsCleanup: 1, runsStartup: 5, roundsStartup: 1, warmStartup: 1, runsRedis: 1, runsRss: 1 }
  : { bigFiles: 500, smallStreams: 10, smallPer: 1000, ls: 10000, redisFiles: 1000, rssSmall: 200, rssLarge: 2048,
      runsMigrate: 5, runsLs: 3, runsCleanup: 2, runsStartup: 20, roundsStartup: 4, warmStartup: 2, runsRedis: 3, runsRss: 1 };

// flux-storage as built by `npm run build` right before this script, copied at start (see main) so
// that a rebuild by someone else during the run cannot change what is measured half way.
let FLUX = ['node', path.join(REPO, 'bin/flux-storage.js')];
const NODE = 'node';

// ---------------------------------------------------------------------------------------------
// Clean-up on every way out.

const cleanups = [];
let cleaned = false;
function cleanupAll() {
  if (cleaned) return;
  cleaned = true;
  for (const fn of cleanups.reverse()) {
    try {
      fn();
    } catch {}
  }
}
process.on('exit', cleanupAll);
for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
  process.on(sig, () => {
    log(`${sig}: stopping servers`);
    cleanupAll();
    process.exit(130);
  });
}

// ---------------------------------------------------------------------------------------------
// Peers.

async function ensurePeers() {
  const missing = [];
  if (!which('rclone')) missing.push('rclone');
  if (!existsSync(AWS)) missing.push('awscli');
  if (!which('hyperfine')) missing.push('hyperfine');
  if (!existsSync('/usr/bin/time')) missing.push('time');
  if (!which('redis-server')) missing.push('redis-server');
  if (missing.length === 0) return;
  log(`installing from Debian: ${missing.join(' ')}`);
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  await run('apt-get', ['update', '-qq'], { env });
  await run('apt-get', ['install', '-y', '-qq', ...missing], { env });
}

/**
 * The build to compare listing and cleanup with (issue 13: "within 10% of today"): git
 * BENCH_BASELINE (default 195cdcd, main before the layout presets) exported into the scratch folder
 * and built there with this checkout's node_modules. BENCH_BASELINE=none skips it.
 */
const BASELINE_REF = process.env.BENCH_BASELINE ?? '195cdcd';
async function buildBaseline(tmp) {
  if (BASELINE_REF === 'none') return undefined;
  const dir = path.join(tmp, `baseline-${BASELINE_REF}`);
  log(`building git ${BASELINE_REF} as the baseline in ${dir}`);
  await run('bash', ['-c', `mkdir -p ${dir} && git archive ${BASELINE_REF} | tar -x -C ${dir}`]);
  symlinkSync(path.join(REPO, 'node_modules'), path.join(dir, 'node_modules'));
  await run('npm', ['run', 'build', '--silent'], { cwd: dir });
  return { words: ['node', path.join(dir, 'bin/flux-storage.js')], ref: BASELINE_REF };
}

async function sourceState() {
  const rev = (await run('git', ['rev-parse', '--short', 'HEAD'], { allowFail: true })).stdout.trim();
  const dirty = (await run('git', ['status', '--porcelain', '--', 'src', 'package.json'], { allowFail: true })).stdout.trim();
  return `git ${rev}${dirty ? ' + uncommitted changes in src/' : ''}`;
}

async function versions(builtFrom) {
  const first = async (cmd, args) => {
    try {
      const r = await run(cmd, args, { allowFail: true });
      return (r.stdout || r.stderr).trim().split('\n')[0];
    } catch {
      return 'not found';
    }
  };
  const pkg = (p) => JSON.parse(readFileSync(path.join(REPO, p), 'utf8')).version;
  return {
    node: process.version,
    'flux-storage': `${pkg('package.json')} (built from ${builtFrom})`,
    '@aws-sdk/client-s3': pkg('node_modules/@aws-sdk/client-s3/package.json'),
    s3rver: pkg('node_modules/s3rver/package.json'),
    rclone: await first('rclone', ['version']),
    aws: await first(AWS, ['--version']),
    hyperfine: await first('hyperfine', ['--version']),
    'redis-server': await first('redis-server', ['--version']),
    radosgw: await first('radosgw', ['--version']),
  };
}

function machine() {
  const cpu = readFileSync('/proc/cpuinfo', 'utf8').match(/model name\s*:\s*(.*)/)?.[1] ?? os.cpus()[0]?.model ?? '?';
  return {
    nproc: os.availableParallelism?.() ?? os.cpus().length,
    memory: `${(os.totalmem() / 2 ** 30).toFixed(1)} GiB`,
    cpu,
    os: `${os.type()} ${os.release()}`,
  };
}

// ---------------------------------------------------------------------------------------------

async function main() {
  const t0 = Date.now();
  const loadStart = os.loadavg().map((x) => x.toFixed(2)).join(' ');
  await ensurePeers();

  // Data sets.
  const big = await ensureSet(QUICK ? 'q-big' : 'big', { streams: 1, perStream: P.bigFiles, size: MiB, streamName: () => 'big' });
  const small = await ensureSet(QUICK ? 'q-small' : 'small', { streams: P.smallStreams, perStream: P.smallPer, size: 100 * KiB });
  const tiny = await ensureSet('tiny', { streams: 3, perStream: 10, size: 100 * KiB, streamName: (i) => `cam${i}` });
  const rssSmall = await ensureSet(`rss-${P.rssSmall}`, { streams: 1, perStream: P.rssSmall, size: MiB, streamName: () => 'rss' });
  const rssLarge = await ensureSet(`rss-${P.rssLarge}`, { streams: 1, perStream: P.rssLarge, size: MiB, streamName: () => 'rss' });

  // Servers, in a temporary folder of their own.
  const tmp = mkdtempSync(path.join(os.tmpdir(), 'flux-bench-'));
  cleanups.push(() => rmSync(tmp, { recursive: true, force: true }));

  // A private copy of the build (bin/, dist/, package.json; node_modules linked).
  const build = path.join(tmp, 'flux-storage');
  for (const part of ['bin', 'dist', 'package.json']) cpSync(path.join(REPO, part), path.join(build, part), { recursive: true });
  symlinkSync(path.join(REPO, 'node_modules'), path.join(build, 'node_modules'));
  FLUX = ['node', path.join(build, 'bin/flux-storage.js')];
  const builtFrom = await sourceState();
  log(`measuring the build of ${builtFrom}`);
  const BASE = await buildBaseline(tmp);
  const s3dir = path.join(tmp, 's3rver');
  const buckets = { mig: 'bench-mig', ls: 'bench-ls', cln: 'bench-clean', rss: 'bench-rss' };
  const requestLog = path.join(tmp, 's3rver-requests.log');
  const s3 = await startS3rver(s3dir, Object.values(buckets), requestLog);
  cleanups.push(() => s3.stop());
  const redis = await startRedis(path.join(tmp, 'redis'));
  cleanups.push(() => redis.stop());
  const endpoint = `http://127.0.0.1:${s3.port}`;
  log(`s3rver at ${endpoint} (pid ${s3.pid}), redis-server at 127.0.0.1:${redis.port} (pid ${redis.pid}), scratch ${tmp}`);

  // Environment for every child: credentials for aws and rclone, no CA bundle (rclone 1.60 fails on it).
  const env = { ...process.env };
  delete env.AWS_CA_BUNDLE;
  Object.assign(env, {
    AWS_ACCESS_KEY_ID: 'S3RVER', AWS_SECRET_ACCESS_KEY: 'S3RVER', AWS_DEFAULT_REGION: 'us-east-1', AWS_REGION: 'us-east-1',
    AWS_EC2_METADATA_DISABLED: 'true', AWS_PAGER: '', AWS_CONFIG_FILE: '/dev/null', AWS_SHARED_CREDENTIALS_FILE: '/dev/null',
    RCLONE_CONFIG_BENCH_TYPE: 's3', RCLONE_CONFIG_BENCH_PROVIDER: 'Other', RCLONE_CONFIG_BENCH_ENDPOINT: endpoint,
    RCLONE_CONFIG_BENCH_ACCESS_KEY_ID: 'S3RVER', RCLONE_CONFIG_BENCH_SECRET_ACCESS_KEY: 'S3RVER',
    RCLONE_CONFIG_BENCH_FORCE_PATH_STYLE: 'true', RCLONE_CONFIG_BENCH_REGION: 'us-east-1', RCLONE_CONFIG: '/dev/null',
  });

  // Config files.
  const s3pool = (bucket) => ({
    name: 's3', priority: 2,
    backend: { type: 's3', bucket, endpoint, forcePathStyle: true, region: 'us-east-1', accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER', checksums: 'when_required', maxSockets: 64 },
  });
  const localPool = (root) => ({ name: 'local', priority: 1, backend: { type: 'local', root, fsync: false } });
  const writeConfig = (name, pools) => {
    const file = path.join(tmp, `${name}.json`);
    writeFileSync(file, JSON.stringify({ pools }, null, 2));
    return file;
  };
  const cfg = {
    mig: writeConfig('migrate', [localPool(big.root), s3pool(buckets.mig)]),
    ls: writeConfig('ls', [localPool(tiny.root), s3pool(buckets.ls)]),
    cln: writeConfig('cleanup', [localPool(small.root), s3pool(buckets.cln)]),
    local: writeConfig('local', [localPool(tiny.root)]),
    redis: writeConfig('redis', [{ name: 'redis', priority: 0, backend: { type: 'redis', url: `redis://127.0.0.1:${redis.port}`, keyPrefix: 'bench:' } }]),
    rssSmall: writeConfig('rss-small', [localPool(rssSmall.root), s3pool(buckets.rss)]),
    rssLarge: writeConfig('rss-large', [localPool(rssLarge.root), s3pool(buckets.rss)]),
  };
  const hfDir = path.join(tmp, 'hyperfine');
  const bucketDir = (b) => path.join(s3dir, b);
  const hlsIn = (b) => path.join(s3dir, b, 'hls');
  let hfCount = 0;
  const hf = (opts) => hyperfine({ env, jsonFile: path.join(tmp, `hf-${hfCount++}.json`), ...opts });
  const emptyBucket = (b) => cmdline(['rm', '-rf', hlsIn(b)]);
  const sdkLoop = (bucket, extra) => [NODE, path.join(BENCH_DIR, 'sdk-put-loop.mjs'), '--endpoint', endpoint, '--bucket', bucket, '--concurrency', String(CONCURRENCY), ...extra];

  const scenarios = [];
  const extraTargets = [];
  const notes = [];
  if (ONLY_RGW) {
    const rgw = await rgwScenarios({ FLUX, BASE, tmp, quick: QUICK, env, cleanups });
    scenarios.push(...rgw.scenarios);
    extraTargets.push(...rgw.targets);
    notes.push(rgw.note);
    const report = buildReport({ scenarios, rss: [], totalS: (Date.now() - t0) / 1000, machine: machine(), versions: await versions(builtFrom), loadStart, extraTargets, notes });
    const file = path.join(DATA, 'RESULTS.rgw.md');
    writeFileSync(file, report.markdown);
    process.stdout.write(`\n${report.summary}\nWritten: ${path.relative(REPO, file)} (${((Date.now() - t0) / 1000).toFixed(0)} s)\n`);
    return;
  }

  /** Benchmarks each entry; after each, checks the state with `verify()` (a string on failure). */
  /**
   * Benchmarks every entry of `list` in interleaved rounds (round 1: each tool once, round 2: each
   * tool again, …), so that a load that comes and goes on this shared 2-core machine hits every tool
   * alike. Each round is one hyperfine call per tool with `runs / rounds` runs (and the warmup in
   * every round). The first time a tool runs, its result is checked with `verify()` (a string on
   * failure), and the S3 requests it sent are counted from s3rver's request log.
   */
  async function measure(list, { runs, rounds = runs, warmup = 0, prepare } = {}) {
    const perRound = Math.ceil(runs / rounds);
    const state = list.map((item) => ({ item, times: [], cpuSum: 0, requests: 0, byMethod: {}, invocations: 0, error: undefined, command: cmdline(item.words) }));
    for (let round = 0; round < rounds; round++) {
      for (const st of state) {
        if (st.error) continue;
        if (!s3.alive()) throw new Error('s3rver is gone');
        const logStart = existsSync(requestLog) ? statSync(requestLog).size : 0;
        const res = await hf({ name: `${st.item.name} [round ${round + 1}/${rounds}]`, command: st.command, prepare: st.item.prepare ?? prepare, runs: perRound, warmup });
        if (res.error) {
          st.error = res.error;
          continue;
        }
        st.times.push(...res.times);
        st.cpuSum += res.cpu * res.times.length;
        st.invocations += perRound + warmup;
        const text = existsSync(requestLog) ? readFileSync(requestLog).subarray(logStart).toString('utf8') : '';
        for (const line of text.split('\n')) {
          if (!line) continue;
          const m = JSON.parse(line).method;
          st.byMethod[m] = (st.byMethod[m] ?? 0) + 1;
          st.requests++;
        }
        if (round === 0 && st.item.verify) {
          const problem = await st.item.verify();
          if (problem) {
            log(`  WRONG RESULT: ${problem}`);
            st.error = problem;
          }
        }
      }
    }
    return state.map((st) => {
      const base = { name: st.item.name, command: st.command, display: st.item.display, role: st.item.role ?? 'peer' };
      if (st.error) return { ...base, error: st.error };
      const res = { ...base, median: median(st.times), min: Math.min(...st.times), max: Math.max(...st.times), mean: st.times.reduce((a, b) => a + b, 0) / st.times.length, runs: st.times.length, times: st.times, cpu: st.cpuSum / st.times.length };
      if (st.requests > 0) {
        res.requests = Math.round(st.requests / st.invocations);
        res.requestsByMethod = Object.entries(st.byMethod).map(([m, c]) => `${m} ${Math.round(c / st.invocations)}`).join(', ');
      }
      log(`${res.name}: median ${fmtS(res.median)} (min ${fmtS(res.min)}, max ${fmtS(res.max)}, ${res.runs} runs)${res.requests ? `, S3 requests per run ${res.requests} (${res.requestsByMethod})` : ''}`);
      return res;
    });
  }

  // 1. migrate local→S3 of the 1 MiB set.
  {
    const n = big.files;
    const expect = () => {
      const c = countS3rverObjects(hlsIn(buckets.mig));
      return c === n ? undefined : `${c} objects in the bucket, expected ${n}`;
    };
    const prepare = emptyBucket(buckets.mig);
    const rows = await measure([
      { name: `flux-storage migrate --concurrency ${CONCURRENCY}`, role: 'flux', words: [...FLUX, '--config', cfg.mig, 'migrate', '--from', 'local', '--to', 's3', '--concurrency', String(CONCURRENCY), '--quiet'], verify: expect },
      { name: `SDK PutObject loop (concurrency ${CONCURRENCY})`, role: 'limit', words: sdkLoop(buckets.mig, ['--dir', path.join(big.root, 'hls'), '--prefix', 'hls/']), verify: expect },
      { name: 'rclone copy', words: ['rclone', 'copy', path.join(big.root, 'hls'), `bench:${buckets.mig}/hls`], verify: expect },
      { name: 'rclone copy --transfers 16', words: ['rclone', 'copy', '--transfers', '16', path.join(big.root, 'hls'), `bench:${buckets.mig}/hls`], verify: expect },
      { name: 'aws s3 cp --recursive', words: [AWS, 's3', 'cp', '--recursive', '--only-show-errors', '--endpoint-url', endpoint, path.join(big.root, 'hls'), `s3://${buckets.mig}/hls/`], verify: expect },
    ], { prepare, runs: P.runsMigrate });
    scenarios.push({ id: 'migrate', title: `migrate local→S3: ${n} × 1 MiB (${(big.bytes / MiB).toFixed(0)} MiB), destination emptied before each run`, bytes: big.bytes, rows });
    await run('rm', ['-rf', hlsIn(buckets.mig)]);
  }

  // 2. ls of a large stream.
  {
    const n = P.ls;
    log(`uploading ${n} tiny objects into one stream for ls`);
    const up = await run(NODE, sdkLoop(buckets.ls, ['--count', String(n), '--size', '1024', '--prefix', 'hls/ls10k/']).slice(1), { env });
    log(`  ${up.stdout.trim()}`);
    const have = countS3rverObjects(hlsIn(buckets.ls));
    if (have !== n) throw new Error(`ls set: ${have} objects, expected ${n}`);
    const lsCount = async (words, parse) => {
      const r = await run(words[0], words.slice(1), { env });
      return parse(r.stdout);
    };
    const fluxJson = [...FLUX, '--config', cfg.ls, 'ls', 'ls10k', '--pool', 's3', '--json'];
    const fluxTable = [...FLUX, '--config', cfg.ls, 'ls', 'ls10k', '--pool', 's3'];
    const rcl = ['rclone', 'lsf', '-R', '--fast-list', `bench:${buckets.ls}/hls/ls10k`];
    const awsls = [AWS, 's3', 'ls', '--recursive', '--endpoint-url', endpoint, `s3://${buckets.ls}/hls/ls10k/`];
    const lines = (s) => s.split('\n').filter((l) => l.includes('segment_')).length;
    const check = (words, parse) => async () => {
      const c = await lsCount(words, parse);
      return c === n ? undefined : `listed ${c}, expected ${n}`;
    };
    const jsonCount = (s) => {
      const doc = JSON.parse(s);
      return Array.isArray(doc.segments) ? doc.segments.length : -1;
    };
    const rows = await measure([
      { name: 'flux-storage ls ls10k --pool s3 --json', role: 'flux', words: fluxJson, verify: check(fluxJson, jsonCount) },
      { name: 'flux-storage ls ls10k --pool s3 (table)', role: 'flux', words: fluxTable, verify: check(fluxTable, (s) => s.split('\n').filter((l) => /^\s*\d+\s+\S/u.test(l)).length) },
      ...(BASE ? [{ name: `flux-storage ls ls10k --pool s3 --json, git ${BASE.ref}`, role: 'baseline', words: [...BASE.words, ...fluxJson.slice(FLUX.length)], verify: check([...BASE.words, ...fluxJson.slice(FLUX.length)], jsonCount) }] : []),
      { name: 'rclone lsf -R --fast-list', words: rcl, verify: check(rcl, lines) },
      { name: 'aws s3 ls --recursive', words: awsls, verify: check(awsls, lines) },
    ], { runs: P.runsLs, warmup: 1 });
    scenarios.push({ id: 'ls', title: `ls of one stream of ${n.toLocaleString('en')} segments in S3`, rows, objects: n });
  }

  // 3. cleanup of the 10 × 1,000 set. State is restored before each run from a hard-linked copy of
  // s3rver's files as they were after one upload (same state as uploading again, in a second).
  {
    const n = small.files;
    log(`uploading ${n} objects (${small.streams.length} streams) for cleanup`);
    const up = await run(NODE, sdkLoop(buckets.cln, ['--dir', path.join(small.root, 'hls'), '--prefix', 'hls/']).slice(1), { env });
    log(`  ${up.stdout.trim()}`);
    const snap = path.join(tmp, 'cleanup-snapshot');
    cpSync(hlsIn(buckets.cln), snap, { recursive: true });
    if (countS3rverObjects(snap) !== n) throw new Error('cleanup snapshot incomplete');
    const prepare = cmdline(['bash', '-c', `rm -rf ${hlsIn(buckets.cln)} && cp -al ${snap} ${hlsIn(buckets.cln)}`]);
    const empty = () => {
      const c = countS3rverObjects(hlsIn(buckets.cln));
      return c === 0 ? undefined : `${c} objects left, expected 0`;
    };
    const rows = await measure([
      { name: 'flux-storage cleanup --all --keep 0 --pool s3', role: 'flux', words: [...FLUX, '--config', cfg.cln, 'cleanup', '--all', '--keep', '0', '--pool', 's3', '--quiet'], verify: empty },
      ...(BASE ? [{ name: `flux-storage cleanup --all --keep 0 --pool s3, git ${BASE.ref}`, role: 'baseline', words: [...BASE.words, '--config', cfg.cln, 'cleanup', '--all', '--keep', '0', '--pool', 's3', '--quiet'], verify: empty }] : []),
      { name: 'rclone delete --fast-list', words: ['rclone', 'delete', '--fast-list', `bench:${buckets.cln}/hls`], verify: empty },
      { name: 'rclone delete --fast-list --checkers 16', words: ['rclone', 'delete', '--fast-list', '--checkers', '16', `bench:${buckets.cln}/hls`], verify: empty },
      { name: 'aws s3 rm --recursive', words: [AWS, 's3', 'rm', '--recursive', '--only-show-errors', '--endpoint-url', endpoint, `s3://${buckets.cln}/hls/`], verify: empty },
    ], { prepare, runs: P.runsCleanup });
    scenarios.push({ id: 'cleanup', title: `cleanup: delete ${n.toLocaleString('en')} segments (${small.streams.length} streams × ${P.smallPer}) from S3`, rows, objects: n });
    rmSync(snap, { recursive: true, force: true });
  }

  // 4. start-up.
  {
    const rows = await measure([
      { name: "node -e ''", role: 'limit', words: [NODE, '-e', ''] },
      { name: 'flux-storage --help', role: 'flux', words: [...FLUX, '--help'] },
      { name: 'flux-storage --version', role: 'flux', words: [...FLUX, '--version'] },
      { name: 'flux-storage ls (local pool, 3 streams)', role: 'flux', words: [...FLUX, '--config', cfg.local, 'ls'] },
      { name: 'flux-storage ls cam0 (local pool, 10 segments)', role: 'flux', words: [...FLUX, '--config', cfg.local, 'ls', 'cam0'] },
    ], { runs: P.runsStartup, rounds: P.roundsStartup, warmup: P.warmStartup });
    scenarios.push({ id: 'startup', title: 'start-up (local pool, small data)', rows, slowdown: true });
  }

  // 5. Redis pool.
  {
    const n = P.redisFiles;
    const dir = path.join(small.root, 'hls', 's0');
    const files = (await readdir(dir)).filter((f) => f.endsWith('.ts')).slice(0, n).map((f) => path.join(dir, f));
    const bytes = files.length * 100 * KiB;
    const flush = cmdline(['redis-cli', '-h', '127.0.0.1', '-p', String(redis.port), 'flushall']);
    const lsWords = [...FLUX, '--config', cfg.redis, 'ls', 'r1', '--pool', 'redis', '--json'];
    const listed = async () => {
      const r = await run(lsWords[0], lsWords.slice(1), { env });
      const c = JSON.parse(r.stdout).segments?.length;
      return c === files.length ? undefined : `redis ls found ${c}, expected ${files.length}`;
    };
    const putRows = await measure([
      { name: `flux-storage put r1 (${files.length} files in one call) --pool redis`, role: 'flux', words: [...FLUX, '--config', cfg.redis, 'put', 'r1', ...files, '--pool', 'redis', '--quiet'], display: cmdline([...FLUX, '--config', cfg.redis, 'put', 'r1', `${dir}/segment_{…${files.length} files}.ts`, '--pool', 'redis', '--quiet']), verify: listed },
      { name: `ioredis SET loop (concurrency ${CONCURRENCY})`, role: 'limit', words: [NODE, path.join(BENCH_DIR, 'redis-set-loop.mjs'), '--port', String(redis.port), '--dir', dir, '--concurrency', String(CONCURRENCY)] },
    ], { prepare: flush, runs: P.runsRedis });
    // Leave r1 in place for ls.
    await run(FLUX[0], [...FLUX.slice(1), '--config', cfg.redis, 'put', 'r1', ...files, '--pool', 'redis', '--quiet'], { env });
    const lsRows = await measure([
      { name: `flux-storage ls r1 --pool redis --json (${files.length} segments)`, role: 'flux', words: lsWords, verify: listed },
      { name: "node -e '' (process floor)", role: 'limit', words: [NODE, '-e', ''] },
    ], { runs: Math.max(P.runsRedis, 5), warmup: 1 });
    scenarios.push({ id: 'redis-put', title: `Redis pool: put ${files.length} × 100 KiB`, bytes, rows: putRows });
    scenarios.push({ id: 'redis-ls', title: `Redis pool: ls of a ${files.length}-segment stream`, rows: lsRows, slowdown: true });
  }

  // 6. Peak RSS of migrate.
  const rss = [];
  {
    for (const [label, set, config] of [['small', rssSmall, cfg.rssSmall], ['large', rssLarge, cfg.rssLarge]]) {
      for (const [tool, words] of [
        ['flux-storage migrate', [...FLUX, '--config', config, 'migrate', '--from', 'local', '--to', 's3', '--concurrency', String(CONCURRENCY), '--quiet']],
        ['SDK PutObject loop', sdkLoop(buckets.rss, ['--dir', path.join(set.root, 'hls'), '--prefix', 'hls/'])],
      ]) {
        for (let i = 0; i < P.runsRss; i++) {
          await run('rm', ['-rf', hlsIn(buckets.rss)]);
          log(`peak RSS: ${tool} on ${set.files} MiB`);
          const r = await run('/usr/bin/time', ['-v', ...words], { env, allowFail: true });
          const kb = Number(r.stderr.match(/Maximum resident set size \(kbytes\): (\d+)/)?.[1]);
          const wall = r.stderr.match(/Elapsed \(wall clock\) time.*: (.*)/)?.[1];
          const count = countS3rverObjects(hlsIn(buckets.rss));
          const ok = r.code === 0 && count === set.files;
          log(`  ${(kb / 1024).toFixed(0)} MiB peak, ${wall}${ok ? '' : ` FAILED (exit ${r.code}, ${count} objects)`}`);
          rss.push({ label, tool, mib: set.files, rssMiB: kb / 1024, wall, ok, error: ok ? undefined : r.stderr.slice(-500) });
        }
      }
      await run('rm', ['-rf', hlsIn(buckets.rss)]);
    }
  }

  // 7. The S3 cases again, on Ceph RGW (s3rver and redis-server stopped first, to free the cores).
  // BENCH_ONLY=s3rver: without them (a smoke run of the first half).
  s3.stop();
  redis.stop();
  if (process.env.BENCH_ONLY !== 's3rver') {
    const rgw = await rgwScenarios({ FLUX, BASE, tmp, quick: QUICK, env, cleanups });
    scenarios.push(...rgw.scenarios);
    extraTargets.push(...rgw.targets);
    notes.push(rgw.note);
  }

  const report = buildReport({ scenarios, rss, totalS: (Date.now() - t0) / 1000, machine: machine(), versions: await versions(builtFrom), loadStart, extraTargets, notes });
  const file = QUICK ? path.join(DATA, 'RESULTS.quick.md') : path.join(BENCH_DIR, 'RESULTS.md');
  writeFileSync(file, report.markdown);
  writeFileSync(file.replace(/\.md$/, '.json'), JSON.stringify({ quick: QUICK, scenarios, rss, machine: machine() }, (k, v) => (k === 'times' ? undefined : v), 2));
  process.stdout.write(`\n${report.summary}\nWritten: ${path.relative(REPO, file)} (${((Date.now() - t0) / 1000).toFixed(0)} s)\n`);
}

// ---------------------------------------------------------------------------------------------
// Report.

const mark = (ok) => (ok === undefined ? '–' : ok ? '✅' : '❌');
const ratio = (a, b) => (a && b ? `${(a / b).toFixed(2)}×` : '–');

function buildReport({ scenarios, rss, totalS, machine, versions, loadStart, extraTargets = [], notes = [] }) {
  const md = [];
  const summary = [];
  const targets = [];
  md.push('# flux-storage benchmarks', '');
  md.push(`Produced by \`${QUICK ? 'BENCH_QUICK=1 ' : ''}npm run bench\` (bench/run.mjs) on ${new Date().toISOString().slice(0, 16).replace('T', ' ')} UTC, in ${(totalS / 60).toFixed(1)} min.`);
  md.push('Every server is local (s3rver, redis-server and Ceph RGW on 127.0.0.1, all on the same 2 cores as the clients), so these numbers compare tools against local servers, not against a cloud. The S3 cases run twice: on s3rver (a fake), and on Ceph RGW (a real S3 server; its tables are titled "on Ceph RGW").', '', ...notes.flatMap((n) => [n, '']));
  md.push('## Machine and versions', '');
  md.push('| | |', '| --- | --- |');
  for (const [k, v] of Object.entries(machine)) md.push(`| ${k} | ${v} |`);
  for (const [k, v] of Object.entries(versions)) md.push(`| ${k} | ${v} |`);
  md.push('');
  md.push(`Times are wall-clock per command from hyperfine (\`-N\`, \`--export-json\`), median / min / max over the runs shown; a prepare step (not timed) resets the state before each run. Tools are run in interleaved rounds (each tool once per round, in turn), so a load that comes and goes on the machine falls on all of them alike. Concurrency ${CONCURRENCY} for every tool that takes one (s3rver's practical limit). Load average at the start: ${loadStart}; at the end: ${os.loadavg().map((x) => x.toFixed(2)).join(' ')} (other work on the machine adds noise). "client CPU / run" is the user + system time of the measured process (hyperfine's mean), not of the server: with the server on the same two cores, a client that spends less CPU leaves it more.`, '');

  const best = (rows, pred) => rows.filter((r) => !r.error && pred(r)).sort((a, b) => a.median - b.median)[0];

  for (const sc of scenarios) {
    md.push(`## ${sc.title}`, '');
    const bestPeer = best(sc.rows, (r) => r.role === 'peer');
    const limit = best(sc.rows, (r) => r.role === 'limit');
    const cols = ['tool / command', 'runs', 'median', 'min', 'max'];
    if (sc.bytes) cols.push('MB/s');
    if (sc.objects) cols.push('objects/s');
    if (sc.httpRequests) cols.push('requests/s');
    if (bestPeer) cols.push('vs best peer');
    if (limit) cols.push(sc.slowdown ? `time ÷ ${limit.name}` : `vs limit (${limit.name})`);
    const withRequests = sc.rows.some((r) => r.requests);
    if (withRequests) cols.push('S3 requests / run');
    cols.push('client CPU / run');
    md.push(`| ${cols.join(' | ')} |`, `| ${cols.map((c, i) => (i === 0 ? '---' : '---:')).join(' | ')} |`);
    for (const r of sc.rows) {
      if (r.error) {
        md.push(`| ${r.name} | – | failed: ${String(r.error).replace(/\|/g, '\\|').slice(0, 200)} |${' |'.repeat(cols.length - 3)}`);
        continue;
      }
      const cells = [r.role === 'flux' ? `**${r.name}**` : r.name, r.runs, fmtS(r.median), fmtS(r.min), fmtS(r.max)];
      if (sc.bytes) cells.push((sc.bytes / 1e6 / r.median).toFixed(1));
      if (sc.objects) cells.push(Math.round(sc.objects / r.median).toLocaleString('en'));
      if (sc.httpRequests) cells.push(Math.round(sc.httpRequests / r.median).toLocaleString('en'));
      // Ratio = time of the best peer (or limit) / this time: above 1× is faster.
      if (bestPeer) cells.push(ratio(bestPeer.median, r.median));
      if (limit) cells.push(sc.slowdown ? ratio(r.median, limit.median) : ratio(limit.median, r.median));
      if (withRequests) cells.push(r.requests ? `${r.requests} (${r.requestsByMethod})` : '–');
      cells.push(fmtS(r.cpu));
      md.push(`| ${cells.join(' | ')} |`);
    }
    md.push('', 'Commands (exact):', '', ...sc.rows.map((r) => `- \`${r.display ?? r.command}\``), '');
    const flux = sc.rows.filter((r) => r.role === 'flux');
    for (const f of flux) summary.push(`${f.name}: ${f.error ? 'FAILED' : fmtS(f.median)}${bestPeer && !f.error ? `, best peer ${bestPeer.name} ${fmtS(bestPeer.median)}` : ''}${limit && !f.error ? `, limit ${fmtS(limit.median)}` : ''}`);

    // Targets.
    const main = flux[0];
    const ok = (v) => (main && !main.error ? v : false);
    if (sc.id === 'migrate') {
      targets.push({ what: 'migrate ≥ 0.95× the SDK PutObject loop (throughput)', got: main?.error ? 'failed' : `${ratio(limit?.median, main?.median)}`, ok: ok(limit && limit.median / main.median >= 0.95) });
      const peers = sc.rows.filter((r) => r.role === 'peer' && !r.error);
      targets.push({ what: 'migrate ahead of every peer', got: bestPeer ? `${fmtS(main?.median)} vs ${bestPeer.name} ${fmtS(bestPeer.median)}` : '–', ok: ok(peers.every((p) => main.median < p.median)) });
    }
    if (sc.id === 'ls') {
      for (const f of flux) targets.push({ what: `${f.name} at least as fast as the fastest peer`, got: `${fmtS(f.median)} vs ${bestPeer?.name} ${fmtS(bestPeer?.median)}`, ok: !f.error && bestPeer && f.median <= bestPeer.median });
    }
    for (const b of sc.rows.filter((r) => r.role === 'baseline')) {
      const f = sc.rows.find((r) => r.role === 'flux' && !r.error && b.name.startsWith(r.name.split(' (')[0]));
      targets.push({ what: `${sc.server === 'rgw' ? 'RGW: ' : ''}${f?.name ?? b.name} within 10% of ${b.name.split(', ').pop()} (default layout)`, got: f && !b.error ? `${(f.median / b.median).toFixed(2)}× its time (${fmtS(f.median)} vs ${fmtS(b.median)})` : 'failed', ok: Boolean(f && !b.error && f.median <= 1.1 * b.median) });
    }
    if (sc.id === 'cleanup') {
      targets.push({ what: 'cleanup at least as fast as the fastest peer', got: `${fmtS(main?.median)} vs ${bestPeer?.name} ${fmtS(bestPeer?.median)}`, ok: ok(bestPeer && main.median <= bestPeer.median) });
    }
    if (sc.id === 'startup') {
      for (const f of flux.filter((r) => /--help|ls/.test(r.name))) {
        targets.push({ what: `${f.name} within 2× of node -e ''`, got: f.error ? 'failed' : `${(f.median / limit.median).toFixed(2)}× (${fmtS(f.median)} vs ${fmtS(limit.median)})`, ok: !f.error && f.median <= 2 * limit.median });
      }
    }
  }

  targets.push(...extraTargets);
  if (rss.length > 0) {
    md.push('## Peak RSS of migrate local→S3 (1 MiB segments)', '');
    md.push('| tool | data | peak RSS | wall time | |', '| --- | ---: | ---: | ---: | --- |');
    for (const r of rss) md.push(`| ${r.tool} | ${r.mib} MiB | ${r.rssMiB.toFixed(0)} MiB | ${r.wall} | ${r.ok ? '' : 'failed'} |`);
    md.push('', 'Measured with `/usr/bin/time -v` ("Maximum resident set size"), one run each, destination emptied first.', '');
    const fr = (label) => rss.filter((r) => r.tool.startsWith('flux') && r.label === label && r.ok).map((r) => r.rssMiB);
    const s = fr('small');
    const l = fr('large');
    if (s.length && l.length) {
      const q = Math.max(...l) / Math.max(...s);
      targets.push({ what: `migrate peak RSS on ${rss.find((r) => r.label === 'large').mib} MiB ≤ 1.5× the ${rss.find((r) => r.label === 'small').mib} MiB run`, got: `${q.toFixed(2)}× (${Math.max(...l).toFixed(0)} vs ${Math.max(...s).toFixed(0)} MiB)`, ok: q <= 1.5 });
    } else targets.push({ what: 'migrate peak RSS bounded', got: 'failed', ok: false });
    summary.push(`peak RSS migrate: ${rss.filter((r) => r.tool.startsWith('flux')).map((r) => `${r.mib} MiB → ${r.rssMiB.toFixed(0)} MiB`).join(', ')}`);
  }

  const targetMd = ['## Targets', '', '| target | measured | |', '| --- | --- | --- |', ...targets.map((t) => `| ${t.what} | ${t.got} | ${mark(t.ok)} |`), ''];
  md.splice(md.indexOf('## Machine and versions'), 0, ...targetMd);
  summary.push('', 'Targets:', ...targets.map((t) => `  ${mark(t.ok)} ${t.what}: ${t.got}`));
  md.push('Ratios: "vs best peer" and "vs limit" are the time of the best peer (or of the limit) divided by the time of the row, so above 1× means faster than it (for throughput scenarios, the throughput ratio); "time ÷" columns are the row\'s time divided by the floor\'s (below 2× is the start-up target).', '');
  md.push(`Set-up: data under bench/.data/ (random bytes, per-file header), s3rver 3.7.1 via test/support/s3rver-server.mjs with a request log (for the requests-per-run column), a private redis-server, config files written to a temporary folder: local pools \`{"type":"local","root":…,"fsync":false}\`, the S3 pool \`{"type":"s3","bucket":…,"endpoint":"http://127.0.0.1:PORT","forcePathStyle":true,"region":"us-east-1","accessKeyId":"S3RVER","secretAccessKey":"S3RVER","checksums":"when_required","maxSockets":64}\`, the Redis pool \`{"type":"redis","url":"redis://127.0.0.1:PORT","keyPrefix":"bench:"}\`. The cleanup set is restored before each run from a hard-linked copy of s3rver's files taken after one upload (the same state as uploading again). rclone is configured by RCLONE_CONFIG_BENCH_* variables, aws is /usr/bin/aws (v2) with --endpoint-url; AWS_CA_BUNDLE is unset for every child.`, '');
  return { markdown: `${md.join('\n')}\n`, summary: summary.join('\n') };
}

main().then(
  () => cleanupAll(),
  (error) => {
    log(`error: ${error.stack ?? error}`);
    cleanupAll();
    process.exitCode = 1;
  },
);
