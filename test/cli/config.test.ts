// config show / config check through the built binary: the effective config with secrets masked,
// errors with line, column, reason and a did-you-mean, and --connect reaching pools read-only.

import { execFile } from 'node:child_process';
import { mkdir, readdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startS3Server, type S3rverTestServer } from '../support/s3rver.js';
import { workdir } from './run.js';
import { BIN } from './terminal.js';

const EXAMPLE = fileURLToPath(new URL('../../storage.config.example.json', import.meta.url));
const SECRET = 'hunter2-TOP-SECRET-value';
const ENV_SECRET = 'from-env-S3CRET-value';

async function run(cwd: string, args: string[], env: NodeJS.ProcessEnv = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  return promisify(execFile)(process.execPath, [BIN, ...args], { cwd, env: { PATH: process.env.PATH, ...env } }).then(
    ({ stdout, stderr }) => ({ code: 0, stdout, stderr }),
    (error: { code: number; stdout: string; stderr: string }) => ({ code: error.code, stdout: error.stdout, stderr: error.stderr }),
  );
}

describe('config show', () => {
  it('says the embedded default is in use, with every default filled in', async () => {
    const cwd = await workdir();
    const shown = await run(cwd, ['config', 'show']);
    expect(shown.code).toBe(0);
    expect(shown.stdout).toMatch(/^no config file found: the embedded default is in use\n/);
    const json = JSON.parse((await run(cwd, ['config', 'show', '--json'])).stdout);
    expect(json).toMatchObject({
      file: null,
      embeddedDefault: true,
      baseDir: cwd,
      config: { layout: { prefix: 'hls', playlist: 'index.m3u8' }, maxSegmentBytes: 1024 ** 3, pools: [{ name: 'local', priority: 1, maxUsagePercent: 90, timeoutMs: 15000, retries: 2, backend: { type: 'local', root: './flux-data', createRoot: true, fsync: true } }] },
    });
    expect(await readdir(cwd)).toEqual([]);
  });

  it('names the file found and masks every secret, written in the file or taken from the environment', async () => {
    const cwd = await workdir({
      pools: [
        { name: 's3', backend: { type: 's3', bucket: 'my-bucket', accessKeyId: 'AKIDEXAMPLE123', secretAccessKey: SECRET } },
        { name: 'cache', priority: 0, backend: { type: 'redis', url: 'redis://:${REDIS_PASSWORD}@127.0.0.1:6379/0' } },
        { name: 'oss', backend: { type: 'oss', bucket: 'my-bucket', accessKeyId: 'ossid', accessKeySecret: '${OSS_SECRET}' } },
      ],
    });
    const env = { REDIS_PASSWORD: ENV_SECRET, OSS_SECRET: `${ENV_SECRET}-oss` };
    for (const args of [['config', 'show'], ['config', 'show', '--json']]) {
      const shown = await run(cwd, args, env);
      expect(shown.code).toBe(0);
      for (const secret of [SECRET, ENV_SECRET, 'AKIDEXAMPLE123']) expect(shown.stdout + shown.stderr).not.toContain(secret);
      expect(shown.stdout).toContain('redis://***@127.0.0.1:6379/0');
    }
    const text = await run(cwd, ['config', 'show'], env);
    expect(text.stdout).toMatch(new RegExp(`^config file: storage\\.config\\.json \\(${path.join(cwd, 'storage.config.json').replace(/[.]/g, '\\.')}\\)\\n`));
    const json = JSON.parse((await run(cwd, ['config', 'show', '--json'], env)).stdout);
    expect(json).toMatchObject({ file: path.join(cwd, 'storage.config.json'), embeddedDefault: false });
    const backends = Object.fromEntries(json.config.pools.map((p: { name: string; backend: unknown }) => [p.name, p.backend]));
    expect(backends).toMatchObject({
      cache: { url: 'redis://***@127.0.0.1:6379/0' },
      s3: { accessKeyId: '***', secretAccessKey: '***', region: 'us-east-1' },
      oss: { accessKeyId: '***', accessKeySecret: '***' },
    });
  });
});

describe('config check', () => {
  it('a valid config: exit 0, says which file and the pools', async () => {
    const cwd = await workdir({ pools: [{ name: 'ssd', backend: { type: 'local', root: './data' } }] });
    const checked = await run(cwd, ['config', 'check']);
    expect(checked).toMatchObject({ code: 0, stderr: '' });
    expect(checked.stdout).toMatch(/^config file: storage\.config\.json .*\nvalid: 1 pool \(ssd\)\n$/);
  });

  it('an unknown field: exit 2, did-you-mean, and the hint names the example config by its path', async () => {
    const cwd = await workdir({ pools: [{ name: 'ssd', maxUsagePercnt: 80, backend: { type: 'local', root: './data' } }] });
    const checked = await run(cwd, ['config', 'check']);
    expect(checked.code).toBe(2);
    expect(checked.stderr).toBe(`error: storage.config.json: pools[0].maxUsagePercnt: unknown field; did you mean maxUsagePercent? (fix the config file; every field is shown in ${EXAMPLE})\n`);
    // Run from the package's own folder, the path is relative.
    const here = await run(path.dirname(EXAMPLE), ['-c', path.join(cwd, 'storage.config.json'), 'config', 'check']);
    expect(here.stderr).toMatch(/every field is shown in storage\.config\.example\.json\)\n$/);
  });

  it.each([
    ['storage.config.json', `{\n  "pools": [\n    { "name": "s3", "backend": { "type": "s3", "bucket": "my-bucket",\n      "secretAccessKey": ${SECRET} } }\n  ]\n}\n`, /^error: storage\.config\.json:4:26: not valid JSON: unexpected characters \(a text value must be in double quotes\) \(fix the config file/],
    ['.flux-storagerc.yaml', `pools:\n  - name: s3\n    backend:\n      secretAccessKey: ${SECRET}\n     bad: [\n`, /^error: \.flux-storagerc\.yaml:5:6: not valid YAML: bad indentation of a mapping entry \(fix/],
    ['flux-storage.config.js', `module.exports = {\n  pools: [{ name: 'a', token: ${SECRET} x }],\n};\n`, /^error: flux-storage\.config\.js:2: not valid JavaScript \(a syntax error\) \(fix/],
    ['flux-storage.config.mjs', `export default {\n  pools: [{ name: 'a', token: ${SECRET} x }],\n};\n`, /^error: flux-storage\.config\.mjs: not valid JavaScript \(a syntax error\) \(fix/],
  ])('%s that does not parse: exit 2, place and reason, and the secret in it never printed', async (name, text, message) => {
    const cwd = await workdir();
    await writeFile(path.join(cwd, name), text);
    for (const args of [['config', 'check'], ['config', 'show'], ['ls'], ['config', 'check', '--json']]) {
      const result = await run(cwd, args);
      expect(result.code).toBe(2);
      expect(result.stdout + result.stderr).not.toContain(SECRET);
      if (!args.includes('--json')) expect(result.stderr).toMatch(message);
      expect(result.stderr.trim().split('\n')).toHaveLength(1);
    }
  });

  it('values that cannot work are config errors when loaded: a root of /, a NUL, a prefix inside .flux-storage', async () => {
    const cases: [unknown, RegExp][] = [
      [{ pools: [{ name: 'a', backend: { type: 'local', root: '/' } }] }, /pools\[0\]\.backend\.root: must not be the filesystem root/],
      [{ pools: [{ name: 'a', backend: { type: 'local', root: '../'.repeat(40) } }] }, /pools\[0\]\.backend\.root: resolves to the filesystem root/],
      [{ pools: [{ name: 'a', backend: { type: 'local', root: `./data\u0000${SECRET}` } }] }, /pools\[0\]\.backend\.root: contains a NUL character/],
      [{ layout: { prefix: '.flux-storage' }, pools: [{ name: 'a', backend: { type: 'local', root: './data' } }] }, /layout\.prefix: collides with flux-storage's own "\.flux-storage" folder/],
    ];
    for (const [config, message] of cases) {
      const cwd = await workdir(config);
      for (const args of [['config', 'check'], ['put', 'cam1', '-', '--id', '1']]) {
        const result = await run(cwd, args);
        expect(result.code).toBe(2);
        expect(result.stderr).toMatch(message);
        expect(result.stderr).not.toContain(SECRET);
      }
    }
  });
});

describe('config layout', () => {
  const pools = [{ name: 'a', backend: { type: 'local', root: './data' } }];

  it('config show names the layout in effect: its preset, prefix and every template', async () => {
    const cwd = await workdir({ layout: { preset: 'srs-fmp4', prefix: 'live' }, pools });
    await mkdir(path.join(cwd, 'data'));
    const text = await run(cwd, ['config', 'show']);
    expect(text.code).toBe(0);
    expect(text.stdout).toContain('layout: preset srs-fmp4, prefix "live"\n  segment:  live/{app}/{stream}-{seq}.m4s\n  playlist: live/{app}/{stream}.m3u8\n  init:     live/{app}/{stream}-init.mp4\n');
    const json = JSON.parse((await run(cwd, ['config', 'show', '--json'])).stdout);
    expect(json.layout).toEqual({ preset: 'srs-fmp4', prefix: 'live', segment: '{app}/{stream}-{seq}.m4s', playlist: '{app}/{stream}.m3u8', init: '{app}/{stream}-init.mp4' });
    const own = await workdir({ layout: { segment: '{stream}-{seq:5}.ts', playlist: '{stream}.m3u8' }, pools });
    expect((await run(own, ['config', 'show'])).stdout).toContain('layout: templates of its own, prefix (none: keys at the top of the store)\n  segment:  {stream}-{seq:5}.ts\n  playlist: {stream}.m3u8\n');
    const old = await workdir({ layout: { prefix: 'media', playlist: 'live.m3u8' }, pools });
    expect(JSON.parse((await run(old, ['config', 'show', '--json'])).stdout).layout).toEqual({ preset: 'flux', prefix: 'media', segment: '{stream}/segment_{seq}.ts', playlist: '{stream}/live.m3u8' });
  });

  it('a layout that cannot work is a one-line config error (exit 2) for every command, nothing written', async () => {
    const cases: [unknown, string][] = [
      ['nginx', 'storage.config.json: layout: unknown preset "nginx"; the presets are flux, flux-fmp4, nginx-rtmp, nginx-rtmp-nested, srs, srs-fmp4,'],
      [{ segment: '{seq}.ts', playlist: '{stream}.m3u8' }, 'storage.config.json: layout.segment "{seq}.ts": needs a {stream} field'],
      [{ segment: '{stream}{seq}.ts', playlist: '{stream}.m3u8' }, 'storage.config.json: layout is ambiguous: "a12.ts"'],
    ];
    for (const [layout, message] of cases) {
      const cwd = await workdir({ layout, pools });
      await mkdir(path.join(cwd, 'data'));
      for (const args of [['config', 'check'], ['put', 'cam1', '-', '--id', '1'], ['ls']]) {
        const result = await run(cwd, args);
        expect(result.code).toBe(2);
        expect(result.stderr).toContain(message);
        expect(result.stderr.trim().split('\n')).toHaveLength(1);
      }
      expect(await readdir(path.join(cwd, 'data'))).toEqual([]);
    }
  });
});

describe('config check --connect', () => {
  let s3: S3rverTestServer;
  beforeAll(async () => {
    s3 = await startS3Server();
  }, 60_000);
  afterAll(async () => {
    await s3?.close();
  });

  it('reaches every pool read-only: exit 0 when all answer, 1 naming what failed, and nothing is written anywhere', async () => {
    const cwd = await workdir({
      pools: [
        { name: 'ssd', backend: { type: 'local', root: './data' } },
        { name: 's3', priority: 2, backend: s3.poolOptions() },
      ],
    });
    await mkdir(path.join(cwd, 'data'));
    await s3.resetRequests();
    const good = await run(cwd, ['config', 'check', '--connect']);
    expect(good.code).toBe(0);
    expect(good.stdout).toMatch(/ssd .*local .*yes/);
    expect(good.stdout).toMatch(/s3 .*s3 .*yes/);
    const json = JSON.parse((await run(cwd, ['config', 'check', '--connect', '--json'])).stdout);
    expect(json.pools.map((p: { name: string; ok: boolean }) => [p.name, p.ok])).toEqual([['ssd', true], ['s3', true]]);
    expect(await readdir(path.join(cwd, 'data'))).toEqual([]);
    const methods = new Set((await s3.requests()).map((r) => r.method));
    expect([...methods]).toEqual(['GET']);

    const broken = await workdir({
      pools: [
        { name: 'disk1', backend: { type: 'local', root: './mnt/disk1' } },
        { name: 'nobucket', priority: 2, backend: s3.poolOptions({ bucket: 'no-such-bucket' }) },
        { name: 's3', priority: 3, backend: s3.poolOptions() },
      ],
    });
    const failed = await run(broken, ['config', 'check', '--connect', '--json']);
    expect(failed.code).toBe(1);
    const pools = JSON.parse(failed.stdout).pools as { name: string; ok: boolean; error: { message: string } | null }[];
    expect(pools.map((p) => [p.name, p.ok])).toEqual([['disk1', false], ['nobucket', false], ['s3', true]]);
    expect(pools[0]?.error?.message).toContain(`the root ${path.join(broken, 'mnt/disk1')} does not exist`);
    expect(await readdir(broken)).toEqual(['storage.config.json']);
    expect(new Set((await s3.requests()).map((r) => r.method))).toEqual(new Set(['GET']));
  }, 60_000);
});
