// The S3 cases of the benchmark on Ceph RGW, a real S3 server (bench/run.mjs calls rgwScenarios):
// migrate at 200 and 2,000 × 1 MiB, ls of a 10,000-segment stream, cleanup of 10,000 segments, and
// the scale case (1,000 streams × 30 segments, cleanup --all --keep 20), each side by side with
// rclone and the AWS CLI, with requests by kind from radosgw's access log and the targets.
// State is set up with bench/s3-tool.mjs (RGW keeps its objects in RADOS, not in files to copy).

import path from 'node:path';
import { startCephCluster } from '../test/support/ceph-cluster.mjs';
import { ensureSet } from './dataset.mjs';
import { AWS, BENCH_DIR, cmdline, fmtS, hyperfine, log, median, run } from './lib.mjs';

const MiB = 1 << 20;
const CONCURRENCY = 16;

/** A request line of radosgw's log, by kind: LIST, GET of a playlist, DeleteObjects... */
function kindOf(r) {
  if (r.method === 'GET' && /(^|&)list-type=2(&|$)/.test(r.query)) return 'LIST';
  if (r.method === 'GET' && r.query === '' && r.path.endsWith('/')) return 'LIST';
  if (r.method === 'GET' && r.path.endsWith('.m3u8')) return 'GET playlist';
  if (r.method === 'POST' && /(^|&)delete(=|&|$)/.test(r.query)) return 'DeleteObjects';
  return r.method;
}

export async function rgwScenarios({ FLUX, tmp, quick, env: baseEnv, cleanups }) {
  const NODE = 'node';
  const buckets = { mig: 'bench-mig', ls: 'bench-ls', cln: 'bench-clean', scale: 'bench-scale' };
  log('starting a single-node Ceph cluster with radosgw');
  const cluster = await startCephCluster({ buckets: Object.values(buckets), parentDir: tmp });
  cleanups.push(() => {
    for (const pid of Object.values(cluster.pids())) {
      try {
        if (pid) process.kill(pid, 'SIGKILL');
      } catch {}
    }
  });
  const { endpoint, accessKeyId, secretAccessKey } = cluster;
  log(`radosgw at ${endpoint} (started in ${cluster.startMs} ms)`);
  const env = { ...baseEnv };
  Object.assign(env, {
    AWS_ACCESS_KEY_ID: accessKeyId, AWS_SECRET_ACCESS_KEY: secretAccessKey,
    RCLONE_CONFIG_RGW_TYPE: 's3', RCLONE_CONFIG_RGW_PROVIDER: 'Ceph', RCLONE_CONFIG_RGW_ENDPOINT: endpoint,
    RCLONE_CONFIG_RGW_ACCESS_KEY_ID: accessKeyId, RCLONE_CONFIG_RGW_SECRET_ACCESS_KEY: secretAccessKey,
    RCLONE_CONFIG_RGW_FORCE_PATH_STYLE: 'true', RCLONE_CONFIG_RGW_REGION: 'us-east-1',
  });
  const tool = (bucket, ...args) => [NODE, path.join(BENCH_DIR, 's3-tool.mjs'), '--endpoint', endpoint, '--bucket', bucket, ...args];
  const count = async (bucket, prefix) => JSON.parse((await run(NODE, tool(bucket, 'count', '--prefix', prefix).slice(1), { env })).stdout).objects;
  const s3pool = (bucket) => ({
    name: 's3', priority: 2,
    backend: { type: 's3', bucket, endpoint, forcePathStyle: true, region: 'us-east-1', accessKeyId, secretAccessKey, checksums: 'when_required', maxSockets: 64 },
  });
  const localPool = (root) => ({ name: 'local', priority: 1, backend: { type: 'local', root, fsync: false } });
  const { writeFileSync } = await import('node:fs');
  const writeConfig = (name, pools) => {
    const file = path.join(tmp, `rgw-${name}.json`);
    writeFileSync(file, JSON.stringify({ pools }, null, 2));
    return file;
  };
  let hfCount = 0;

  /**
   * Each entry: one counted run first (prepare, then the command alone, its requests read from
   * radosgw's log, its result verified), then `runs` timed runs by hyperfine (prepare before each).
   */
  async function measure(list, { runs, prepare }) {
    const rows = [];
    for (const item of list) {
      const prep = item.prepare ?? prepare;
      const row = { name: item.name, command: cmdline(item.words), role: item.role ?? 'peer', server: 'rgw' };
      if (prep) await run(prep[0], prep.slice(1), { env });
      await cluster.resetRequests();
      const t0 = Date.now();
      // A bound, so a tool that hangs on an error (the AWS CLI can) fails its row, not the run.
      const once = await run('timeout', ['600', ...item.words], { env, allowFail: true });
      const onceS = (Date.now() - t0) / 1000;
      const requests = (await cluster.requests()).filter((r) => !r.path.startsWith('/flux-log-mark'));
      const problem = once.code !== 0 ? `exit ${once.code}: ${once.stderr.slice(-300)}` : await item.verify?.();
      if (problem) {
        log(`  WRONG RESULT for ${item.name}: ${problem}`);
        rows.push({ ...row, error: problem });
        continue;
      }
      const byKind = {};
      for (const r of requests) byKind[kindOf(r)] = (byKind[kindOf(r)] ?? 0) + 1;
      let times = [onceS];
      let cpu;
      if (runs > 0) {
        const res = await hyperfine({ env, jsonFile: path.join(tmp, `hf-rgw-${hfCount++}.json`), name: `${item.name} [RGW]`, command: row.command, prepare: prep ? cmdline(prep) : undefined, runs });
        if (res.error) {
          rows.push({ ...row, error: res.error });
          continue;
        }
        times = res.times;
        cpu = res.cpu;
      }
      const r = {
        ...row, times, runs: times.length, median: median(times), min: Math.min(...times), max: Math.max(...times), cpu,
        requests: requests.length, byKind, requestsByMethod: Object.entries(byKind).map(([k, c]) => `${k} ${c}`).join(', '),
      };
      log(`${r.name} [RGW]: median ${fmtS(r.median)} (${r.runs} runs), requests ${r.requests} (${r.requestsByMethod})`);
      rows.push(r);
    }
    return rows;
  }

  const scenarios = [];
  const targets = [];
  const find = (rows, name) => rows.find((r) => r.name === name && !r.error);
  const ratioTarget = (what, better, worse, atLeast) => {
    const ok = better && worse ? worse.median / better.median >= atLeast : false;
    targets.push({ what, got: better && worse ? `${(worse.median / better.median).toFixed(2)}× (${fmtS(better.median)} vs ${fmtS(worse.median)})` : 'failed', ok });
  };

  // 1. migrate local→RGW at 200 and 2,000 × 1 MiB.
  // BENCH_RGW_MIGRATE=200: the sizes to migrate (default 200 and 2,000; a quick run 50 and 200).
  const sizes = process.env.BENCH_RGW_MIGRATE?.split(',').map(Number) ?? (quick ? [50, 200] : [200, 2000]);
  for (const n of sizes) {
    const set = await ensureSet(`rgw-mig-${n}`, { streams: 1, perStream: n, size: MiB, streamName: () => 'big' });
    const cfg = writeConfig(`migrate-${n}`, [localPool(set.root), s3pool(buckets.mig)]);
    const verify = async () => {
      const c = await count(buckets.mig, 'hls/');
      return c === n ? undefined : `${c} objects in the bucket, expected ${n}`;
    };
    const prepare = tool(buckets.mig, 'empty', '--prefix', 'hls/');
    const hls = path.join(set.root, 'hls');
    const rows = await measure([
      { name: `flux-storage migrate --concurrency ${CONCURRENCY}`, role: 'flux', words: [...FLUX, '--config', cfg, 'migrate', '--from', 'local', '--to', 's3', '--concurrency', String(CONCURRENCY), '--quiet'], verify },
      { name: `SDK PutObject loop (concurrency ${CONCURRENCY})`, role: 'limit', words: [NODE, path.join(BENCH_DIR, 'sdk-put-loop.mjs'), '--endpoint', endpoint, '--bucket', buckets.mig, '--concurrency', String(CONCURRENCY), '--dir', hls, '--prefix', 'hls/'], verify },
      { name: 'rclone copy --transfers 16', words: ['rclone', 'copy', '--transfers', '16', hls, `rgw:${buckets.mig}/hls`], verify },
      { name: 'aws s3 cp --recursive', words: [AWS, 's3', 'cp', '--recursive', '--only-show-errors', '--endpoint-url', endpoint, hls, `s3://${buckets.mig}/hls/`], verify },
    ], { prepare, runs: quick ? 1 : n >= 2000 ? 1 : 3 });
    await run(prepare[0], prepare.slice(1), { env });
    scenarios.push({ id: `rgw-migrate-${n}`, title: `on Ceph RGW: migrate local→S3, ${n} × 1 MiB, destination emptied before each run`, bytes: set.bytes, rows });
    const flux = rows.find((r) => r.role === 'flux' && !r.error);
    ratioTarget(`RGW: migrate ${n} × 1 MiB ≥ 1.1× rclone copy --transfers 16`, flux, find(rows, 'rclone copy --transfers 16'), 1.1);
    ratioTarget(`RGW: migrate ${n} × 1 MiB ≥ 0.95× the SDK PutObject loop`, flux, rows.find((r) => r.role === 'limit' && !r.error), 0.95);
  }

  // 2. ls of a 10,000-segment stream.
  {
    const n = quick ? 1000 : 10_000;
    log(`uploading ${n} segments into one stream on RGW`);
    await run(NODE, tool(buckets.ls, 'fill', '--prefix', 'hls/', '--stream', 'ls10k', '--per', String(n)).slice(1), { env });
    const tiny = await ensureSet('tiny', { streams: 3, perStream: 10, size: 100 * 1024, streamName: (i) => `cam${i}` });
    const cfg = writeConfig('ls', [localPool(tiny.root), s3pool(buckets.ls)]);
    const listed = (words, parse) => async () => {
      const r = await run(words[0], words.slice(1), { env });
      const c = parse(r.stdout);
      return c === n ? undefined : `listed ${c}, expected ${n}`;
    };
    const lines = (s) => s.split('\n').filter((l) => l.includes('segment_')).length;
    const fluxJson = [...FLUX, '--config', cfg, 'ls', 'ls10k', '--pool', 's3', '--json'];
    const rcl = ['rclone', 'lsf', '-R', '--fast-list', `rgw:${buckets.ls}/hls/ls10k`];
    const awsls = [AWS, 's3', 'ls', '--recursive', '--endpoint-url', endpoint, `s3://${buckets.ls}/hls/ls10k/`];
    const rows = await measure([
      { name: 'flux-storage ls ls10k --pool s3 --json', role: 'flux', words: fluxJson, verify: listed(fluxJson, (s) => JSON.parse(s).segments?.length) },
      { name: 'rclone lsf -R --fast-list', words: rcl, verify: listed(rcl, lines) },
      { name: 'aws s3 ls --recursive', words: awsls, verify: listed(awsls, lines) },
    ], { runs: quick ? 1 : 3 });
    scenarios.push({ id: 'rgw-ls', title: `on Ceph RGW: ls of one stream of ${n.toLocaleString('en')} segments`, objects: n, rows });
    ratioTarget(`RGW: ls of a ${n.toLocaleString('en')}-segment stream ≥ 1.2× rclone lsf -R --fast-list`, find(rows, 'flux-storage ls ls10k --pool s3 --json'), find(rows, 'rclone lsf -R --fast-list'), 1.2);
  }

  // 3. cleanup of 10,000 segments (10 streams × 1,000 of 1 KiB), refilled before each run.
  {
    const per = quick ? 100 : 1000;
    const n = 10 * per;
    const prepare = tool(buckets.cln, 'fill', '--prefix', 'hls/', '--streams', '10', '--per', String(per));
    const tiny = await ensureSet('tiny', { streams: 3, perStream: 10, size: 100 * 1024, streamName: (i) => `cam${i}` });
    const cfg = writeConfig('cleanup', [localPool(tiny.root), s3pool(buckets.cln)]);
    const empty = async () => {
      const c = await count(buckets.cln, 'hls/');
      return c === 0 ? undefined : `${c} objects left, expected 0`;
    };
    const rows = await measure([
      { name: 'flux-storage cleanup --all --keep 0 --pool s3', role: 'flux', words: [...FLUX, '--config', cfg, 'cleanup', '--all', '--keep', '0', '--pool', 's3', '--quiet'], verify: empty },
      { name: 'bare list + batched DeleteObjects (SDK)', role: 'limit', words: tool(buckets.cln, 'delete-batched', '--prefix', 'hls/'), verify: empty },
      { name: 'rclone delete --fast-list --checkers 16', words: ['rclone', 'delete', '--fast-list', '--checkers', '16', `rgw:${buckets.cln}/hls`], verify: empty },
      { name: 'aws s3 rm --recursive', words: [AWS, 's3', 'rm', '--recursive', '--only-show-errors', '--endpoint-url', endpoint, `s3://${buckets.cln}/hls/`], verify: empty },
    ], { prepare, runs: quick ? 1 : 2 });
    scenarios.push({ id: 'rgw-cleanup', title: `on Ceph RGW: cleanup, delete ${n.toLocaleString('en')} segments (10 streams × ${per})`, objects: n, rows });
    const flux = find(rows, 'flux-storage cleanup --all --keep 0 --pool s3');
    const ref = rows.find((r) => r.role === 'limit' && !r.error);
    targets.push({ what: `RGW: cleanup of ${n.toLocaleString('en')} segments within 1.2× of bare batched DeleteObjects`, got: flux && ref ? `${(flux.median / ref.median).toFixed(2)}× the time (${fmtS(flux.median)} vs ${fmtS(ref.median)})` : 'failed', ok: Boolean(flux && ref && flux.median <= 1.2 * ref.median) });
  }

  // 4. Scale: 1,000 streams × 30 segments and a playlist each; cleanup --all --keep 20.
  {
    const streams = quick ? 100 : 1000;
    const per = 30;
    const keep = 20;
    const prepare = tool(buckets.scale, 'fill', '--prefix', 'hls/', '--streams', String(streams), '--per', String(per), '--playlist-last', '5', '--size', '512');
    const cfg = writeConfig('scale', [s3pool(buckets.scale)]);
    const expectLeft = streams * (keep + 1);
    const verify = async () => {
      const c = await count(buckets.scale, 'hls/');
      return c === expectLeft ? undefined : `${c} objects left, expected ${expectLeft}`;
    };
    const rows = await measure([
      { name: `flux-storage cleanup --all --keep ${keep}`, role: 'flux', words: [...FLUX, '--config', cfg, 'cleanup', '--all', '--keep', String(keep), '--quiet'], verify },
    ], { prepare, runs: quick ? 0 : 1 });
    scenarios.push({ id: 'rgw-scale', title: `on Ceph RGW: scale, cleanup --all --keep ${keep} over ${streams.toLocaleString('en')} streams × ${per} segments + a playlist each`, objects: streams * (per - keep), rows });
    const flux = rows[0];
    if (flux && !flux.error) {
      const objects = streams * (per + 1);
      const floor = Math.ceil(objects / 1000) + streams + Math.ceil((streams * (per - keep)) / 1000);
      targets.push({ what: `RGW scale: requests ≤ 1.1× (listing pages + one playlist read per stream + deletes/1000 = ${floor})`, got: `${flux.requests} (${(flux.requests / floor).toFixed(2)}×: ${flux.requestsByMethod})`, ok: flux.requests <= 1.1 * floor });
      targets.push({ what: 'RGW scale: cleanup under 10 s', got: fmtS(flux.median), ok: flux.median < 10 });
    } else targets.push({ what: 'RGW scale case', got: `failed: ${flux?.error}`, ok: false });
  }

  const rssMiB = (await cluster.rssBytes()) / MiB;
  log(`Ceph daemons' RSS at the end: ${rssMiB.toFixed(0)} MiB; stopping the cluster`);
  await cluster.close();
  return { scenarios, targets, note: `Ceph RGW 16.2 (Debian), single node: one monitor, one OSD on memstore, radosgw with the beast frontend (tcp_nodelay), started by test/support/ceph-cluster.mjs in ${(cluster.startMs / 1000).toFixed(1)} s; its daemons held ${rssMiB.toFixed(0)} MiB at the end. Requests by kind are counted from radosgw's access log over one extra run of each command (the prepare step's requests excluded).` };
}
