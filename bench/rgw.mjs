// The S3 cases of the benchmark on Ceph RGW, a real S3 server (bench/run.mjs calls rgwScenarios):
// migrate at 200 and 2,000 × 1 MiB, ls of a 10,000-segment stream, cleanup of 10,000 segments, and
// the scale case (1,000 streams × 30 segments, cleanup --all --keep 20), each side by side with
// rclone and the AWS CLI, with requests by kind from radosgw's access log and the issue's targets.
// State is set up with bench/s3-tool.mjs (RGW keeps its objects in RADOS, not in files to copy).

import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { startCephCluster } from '../test/support/ceph-cluster.mjs';
import { ensureSet } from './dataset.mjs';
import { AWS, BENCH_DIR, cmdline, fmtS, freePort, hyperfine, log, median, run } from './lib.mjs';

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

export async function rgwScenarios({ FLUX, BASE, tmp, quick, env: baseEnv, cleanups }) {
  const NODE = 'node';
  const buckets = { mig: 'bench-mig', ls: 'bench-ls', cln: 'bench-clean', scale: 'bench-scale', serve: 'bench-serve' };
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
    scenarios.push({ id: `rgw-migrate-${n}`, server: 'rgw', title: `on Ceph RGW: migrate local→S3, ${n} × 1 MiB, destination emptied before each run`, bytes: set.bytes, rows });
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
    const listed = (words, parse, expected = n) => async () => {
      const r = await run(words[0], words.slice(1), { env });
      const c = parse(r.stdout);
      return c === expected ? undefined : `listed ${c}, expected ${expected}`;
    };
    const lines = (s) => s.split('\n').filter((l) => l.includes('segment_')).length;
    const fluxJson = [...FLUX, '--config', cfg, 'ls', 'ls10k', '--pool', 's3', '--json'];
    const rcl = ['rclone', 'lsf', '-R', '--fast-list', `rgw:${buckets.ls}/hls/ls10k`];
    const awsls = [AWS, 's3', 'ls', '--recursive', '--endpoint-url', endpoint, `s3://${buckets.ls}/hls/ls10k/`];
    const rows = await measure([
      { name: 'flux-storage ls ls10k --pool s3 --json', role: 'flux', words: fluxJson, verify: listed(fluxJson, (s) => JSON.parse(s).segments?.length) },
      ...(BASE ? [{ name: `flux-storage ls ls10k --pool s3 --json, git ${BASE.ref}`, role: 'baseline', words: [...BASE.words, ...fluxJson.slice(FLUX.length)], verify: listed([...BASE.words, ...fluxJson.slice(FLUX.length)], (s) => JSON.parse(s).segments?.length) }] : []),
      { name: 'rclone lsf -R --fast-list', words: rcl, verify: listed(rcl, lines) },
      { name: 'aws s3 ls --recursive', words: awsls, verify: listed(awsls, lines) },
    ], { runs: quick ? 1 : 3 });
    scenarios.push({ id: 'rgw-ls', server: 'rgw', title: `on Ceph RGW: ls of one stream of ${n.toLocaleString('en')} segments`, objects: n, rows });
    ratioTarget(`RGW: ls of a ${n.toLocaleString('en')}-segment stream ≥ 1.2× rclone lsf -R --fast-list`, find(rows, 'flux-storage ls ls10k --pool s3 --json'), find(rows, 'rclone lsf -R --fast-list'), 1.2);

    // Start-up on an S3 pool ("start-up as today"): a stream of 10 segments, one LIST, so the time is
    // the process's own (node, the CLI, the SDK) plus one request.
    await run(NODE, tool(buckets.ls, 'fill', '--prefix', 'hls/', '--stream', 'small10', '--per', '10').slice(1), { env });
    const small = [...FLUX, '--config', cfg, 'ls', 'small10', '--pool', 's3', '--json'];
    const smallRclone = ['rclone', 'lsf', '-R', '--fast-list', `rgw:${buckets.ls}/hls/small10`];
    const startRows = await measure([
      { name: 'flux-storage ls small10 --pool s3 --json', role: 'flux', words: small, verify: listed(small, (t) => JSON.parse(t).segments?.length, 10) },
      ...(BASE ? [{ name: `flux-storage ls small10 --pool s3 --json, git ${BASE.ref}`, role: 'baseline', words: [...BASE.words, ...small.slice(FLUX.length)], verify: listed([...BASE.words, ...small.slice(FLUX.length)], (t) => JSON.parse(t).segments?.length, 10) }] : []),
      { name: 'rclone lsf -R --fast-list (10 segments)', words: smallRclone, verify: listed(smallRclone, lines, 10) },
    ], { runs: quick ? 2 : 15 });
    scenarios.push({ id: 'rgw-startup', server: 'rgw', title: 'on Ceph RGW: start-up, ls of a stream of 10 segments (one LIST)', objects: 10, rows: startRows });
    // Its target, within 10% of the baseline build, is the one every scenario with a baseline row gets.
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
      ...(BASE ? [{ name: `flux-storage cleanup --all --keep 0 --pool s3, git ${BASE.ref}`, role: 'baseline', words: [...BASE.words, '--config', cfg, 'cleanup', '--all', '--keep', '0', '--pool', 's3', '--quiet'], verify: empty }] : []),
      { name: 'bare list + batched DeleteObjects (SDK)', role: 'limit', words: tool(buckets.cln, 'delete-batched', '--prefix', 'hls/'), verify: empty },
      { name: 'rclone delete --fast-list --checkers 16', words: ['rclone', 'delete', '--fast-list', '--checkers', '16', `rgw:${buckets.cln}/hls`], verify: empty },
      { name: 'aws s3 rm --recursive', words: [AWS, 's3', 'rm', '--recursive', '--only-show-errors', '--endpoint-url', endpoint, `s3://${buckets.cln}/hls/`], verify: empty },
    ], { prepare, runs: quick ? 0 : 2 });
    scenarios.push({ id: 'rgw-cleanup', server: 'rgw', title: `on Ceph RGW: cleanup, delete ${n.toLocaleString('en')} segments (10 streams × ${per})`, objects: n, rows });
    const flux = find(rows, 'flux-storage cleanup --all --keep 0 --pool s3');
    const ref = rows.find((r) => r.role === 'limit' && !r.error);
    targets.push({ what: `RGW: cleanup of ${n.toLocaleString('en')} segments within 1.2× of bare batched DeleteObjects`, got: flux && ref ? `${(flux.median / ref.median).toFixed(2)}× the time (${fmtS(flux.median)} vs ${fmtS(ref.median)})` : 'failed', ok: Boolean(flux && ref && flux.median <= 1.2 * ref.median) });
  }

  // 4. Scale: 1,000 streams × 30 segments and a playlist each; cleanup --all --keep 20. First the
  // run that finds 10 segments per stream over the limit; then the steady state the issue asks
  // about: one new segment (and playlist) per stream since the last run, so one to delete each.
  {
    const streams = quick ? 100 : 1000;
    const per = 30;
    const keep = 20;
    const fill = tool(buckets.scale, 'fill', '--prefix', 'hls/', '--streams', String(streams), '--per', String(per), '--playlist-last', '5', '--size', '512');
    const cfg = writeConfig('scale', [s3pool(buckets.scale)]);
    const verifyLeft = (n) => async () => {
      const c = await count(buckets.scale, 'hls/');
      return c === n ? undefined : `${c} objects left, expected ${n}`;
    };
    const words = [...FLUX, '--config', cfg, 'cleanup', '--all', '--keep', String(keep), '--quiet'];
    const state = path.join(tmp, 'scale-next-id');
    writeFileSync(state, String(per));
    const advance = tool(buckets.scale, 'advance', '--prefix', 'hls/', '--streams', String(streams), '--state', state, '--playlist-last', '5', '--size', '512');
    const first = await measure([
      { name: `flux-storage cleanup --all --keep ${keep} (first run: ${per - keep} over the limit per stream)`, role: 'flux', words, verify: verifyLeft(streams * (keep + 1)) },
    ], { prepare: fill, runs: 0 });
    const steady = await measure([
      { name: `flux-storage cleanup --all --keep ${keep} (next run: 1 new segment per stream)`, role: 'flux', words, verify: verifyLeft(streams * (keep + 1)) },
    ], { prepare: advance, runs: quick ? 0 : 2 });
    const rows = [...first, ...steady];
    scenarios.push({ id: 'rgw-scale', server: 'rgw', title: `on Ceph RGW: scale, cleanup --all --keep ${keep} over ${streams.toLocaleString('en')} streams × ${per} segments + a playlist each`, rows });
    for (const [row, segments, deletes] of [[first[0], per, streams * (per - keep)], [steady[0], keep + 1, streams]]) {
      if (row && !row.error) {
        const floor = Math.ceil((streams * (segments + 1)) / 1000) + streams + Math.ceil(deletes / 1000);
        const which = segments === per ? 'first run' : 'next run';
        targets.push({ what: `RGW scale (${which}): requests ≤ 1.1× (listing pages + one playlist read per stream + deletes/1000 = ${floor})`, got: `${row.requests} (${(row.requests / floor).toFixed(2)}×: ${row.requestsByMethod})`, ok: row.requests <= 1.1 * floor });
        targets.push({ what: `RGW scale (${which}): cleanup under 10 s`, got: fmtS(row.median), ok: row.median < 10 });
      } else targets.push({ what: 'RGW scale case', got: `failed: ${row?.error}`, ok: false });
    }
    await run(NODE, tool(buckets.scale, 'empty', '--prefix', 'hls/').slice(1), { env });
  }

  // 5. serve: one 10,000-segment stream to 16 ffmpeg-style readers (bench/serve-readers.mjs).
  if (!quick || process.env.BENCH_SERVE === '1') scenarios.push(await serveScenario());

  async function serveScenario() {
    const n = 10_000;
    const readers = 16;
    const perReader = 200;
    const set = await ensureSet('serve10k', { streams: 1, perStream: n, size: 100 * 1024, streamName: () => 'serve10k' });
    const lines = ['#EXTM3U', '#EXT-X-VERSION:3', '#EXT-X-TARGETDURATION:2', '#EXT-X-MEDIA-SEQUENCE:0', '#EXT-X-PLAYLIST-TYPE:VOD'];
    for (let id = 0; id < n; id++) lines.push('#EXTINF:2.000,', `segment_${id}.ts`);
    lines.push('#EXT-X-ENDLIST');
    writeFileSync(path.join(set.root, 'hls/serve10k/index.m3u8'), `${lines.join('\n')}\n`);
    log(`uploading the serve stream (${n.toLocaleString('en')} × 100 KiB and its playlist) to RGW`);
    const up = await run(NODE, [path.join(BENCH_DIR, 'sdk-put-loop.mjs'), '--endpoint', endpoint, '--bucket', buckets.serve, '--concurrency', String(CONCURRENCY), '--dir', path.join(set.root, 'hls'), '--prefix', 'hls/'], { env });
    log(`  ${up.stdout.trim()}`);
    const segmentBytes = readers * perReader * 100 * 1024;
    const nginxDir = path.join(tmp, 'nginx');
    const { mkdirSync } = await import('node:fs');
    mkdirSync(path.join(nginxDir, 'logs'), { recursive: true });
    const localCfg = writeConfig('serve-local', [localPool(set.root)]);
    const s3Cfg = writeConfig('serve-s3', [s3pool(buckets.serve)]);
    const servers = [
      { name: 'flux-storage serve (local pool)', role: 'flux', start: (port) => [...FLUX, '--config', localCfg, 'serve', '--port', String(port)] },
      { name: 'flux-storage serve (S3 pool on RGW)', role: 'flux', s3: true, start: (port) => [...FLUX, '--config', s3Cfg, 'serve', '--port', String(port)] },
      {
        name: 'nginx 1.22 (local disk, 2 workers, sendfile)', start: (port) => {
          writeFileSync(path.join(nginxDir, 'nginx.conf'), [
            'worker_processes 2;', `error_log ${nginxDir}/logs/error.log;`, `pid ${nginxDir}/nginx.pid;`, 'events { worker_connections 1024; }',
            'http { access_log off; sendfile on; tcp_nopush on; keepalive_requests 100000;',
            '  types { application/vnd.apple.mpegurl m3u8; video/mp2t ts; }',
            ...['client_body', 'proxy', 'fastcgi', 'uwsgi', 'scgi'].map((t) => `  ${t}_temp_path ${nginxDir}/${t};`),
            `  server { listen 127.0.0.1:${port}; root ${set.root}; } }`,
          ].join('\n'));
          return ['/usr/sbin/nginx', '-p', nginxDir, '-c', path.join(nginxDir, 'nginx.conf'), '-g', 'daemon off;'];
        },
      },
      { name: 'rclone serve http (S3 on RGW)', s3: true, start: (port) => ['rclone', 'serve', 'http', `rgw:${buckets.serve}`, '--addr', `127.0.0.1:${port}`] },
    ];
    const { spawn } = await import('node:child_process');
    const rows = [];
    for (const srv of servers) {
      const port = await freePort();
      const words = srv.start(port);
      const child = spawn(words[0], words.slice(1), { env, stdio: ['ignore', 'ignore', 'pipe'] });
      let stderr = '';
      child.stderr.on('data', (d) => (stderr = (stderr + d).slice(-2000)));
      const url = `http://127.0.0.1:${port}/hls/serve10k/index.m3u8`;
      const reader = [NODE, path.join(BENCH_DIR, 'serve-readers.mjs'), '--url', url, '--readers', String(readers), '--segments', String(perReader), '--expect-bytes', String(segmentBytes)];
      const row = { name: srv.name, role: srv.role ?? 'peer', server: 'rgw', command: cmdline(words), display: `${cmdline(words)}  (readers: ${cmdline(reader)})` };
      try {
        const deadline = Date.now() + 30_000;
        for (;;) {
          const probe = await run('curl', ['-s', '-o', '/dev/null', '-w', '%{http_code}', url], { allowFail: true });
          if (probe.stdout === '200') break;
          if (Date.now() > deadline || child.exitCode !== null) throw new Error(`${srv.name} did not serve ${url}: ${stderr.slice(-300)}`);
          await new Promise((r) => setTimeout(r, 200));
        }
        await cluster.resetRequests();
        const times = [];
        let requests = 0;
        let requestsOnce;
        for (let i = 0; i < (quick ? 1 : 4); i++) {
          const r = await run(reader[0], reader.slice(1), { env, allowFail: true });
          if (r.code !== 0) throw new Error(`readers failed: ${r.stderr.slice(-300)}`);
          const out = JSON.parse(r.stdout);
          requests = out.requests;
          if (i === 0) {
            // The first run is the counted one (S3 requests from radosgw's log), and a warm-up.
            requestsOnce = (await cluster.requests()).filter((q) => !q.path.startsWith('/flux-log-mark'));
            if (quick) times.push(out.seconds);
          } else times.push(out.seconds);
        }
        const byKind = {};
        for (const q of requestsOnce) byKind[kindOf(q)] = (byKind[kindOf(q)] ?? 0) + 1;
        const med = median(times);
        const r = {
          ...row, times, runs: times.length, median: med, min: Math.min(...times), max: Math.max(...times), httpRequests: requests,
          ...(srv.s3 ? { requests: requestsOnce.length, byKind, requestsByMethod: Object.entries(byKind).map(([k, c]) => `${k} ${c}`).join(', ') } : {}),
        };
        log(`${r.name}: median ${fmtS(med)} for ${requests} requests (${(requests / med).toFixed(0)} req/s, ${(bytesPerRun() / 1e6 / med).toFixed(0)} MB/s)${srv.s3 ? `, S3 requests ${r.requests} (${r.requestsByMethod})` : ''}`);
        rows.push(r);
      } catch (error) {
        log(`  ${srv.name} FAILED: ${error.message}`);
        rows.push({ ...row, error: error.message });
      } finally {
        child.kill('SIGTERM');
        await new Promise((r) => (child.exitCode !== null ? r() : child.once('exit', r)));
      }
    }
    // Bytes per run: the segments plus one playlist per reader.
    function bytesPerRun() {
      return segmentBytes + readers * Buffer.byteLength(`${lines.join('\n')}\n`);
    }
    await run(NODE, tool(buckets.serve, 'empty', '--prefix', 'hls/').slice(1), { env });
    return {
      id: 'rgw-serve', server: 'rgw', serve: true, bytes: bytesPerRun(), httpRequests: readers * (perReader + 1),
      title: `serve: one ${n.toLocaleString('en')}-segment stream (100 KiB segments) to ${readers} ffmpeg-style readers at once (playlist, then ${perReader} segments each in order)`,
      rows,
    };
  }

  const rssMiB = (await cluster.rssBytes()) / MiB;
  log(`Ceph daemons' RSS at the end: ${rssMiB.toFixed(0)} MiB; stopping the cluster`);
  await cluster.close();
  return { scenarios, targets, note: `Ceph RGW 16.2 (Debian), single node: one monitor, one OSD on memstore, radosgw with the beast frontend (tcp_nodelay), started by test/support/ceph-cluster.mjs in ${(cluster.startMs / 1000).toFixed(1)} s; its daemons held ${rssMiB.toFixed(0)} MiB at the end. Requests by kind are counted from radosgw's access log over one extra run of each command (the prepare step's requests excluded).` };
}
