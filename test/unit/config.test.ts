// Config: discovery, ${VAR} interpolation, and one-line errors that name the pool and field.

import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadConfig, parseConfig } from '../../src/config/load.js';
import { Redactor } from '../../src/config/redact.js';

const local = (name: string, extra: Record<string, unknown> = {}) => ({ name, backend: { type: 'local', root: `./${name}` }, ...extra });

function problem(raw: unknown, env: NodeJS.ProcessEnv = {}): string {
  try {
    parseConfig(raw, env, 'storage.config.json');
  } catch (error) {
    return (error as Error).message;
  }
  throw new Error('expected the config to be refused');
}

describe('config validation', () => {
  it('fills defaults', () => {
    const config = parseConfig({ pools: [local('a')] }, {});
    expect(config.layout).toEqual({ prefix: 'hls', playlist: 'index.m3u8' });
    expect(config.pools[0]).toMatchObject({ name: 'a', priority: 1, maxUsagePercent: 90, readOnly: false });
  });

  it.each([
    [{ pools: [local('a'), { name: 'b', backend: { type: 'local' } }] }, 'storage.config.json: pools[1].backend.root: required'],
    [{ pools: [local('a'), { name: 'b', backend: { type: 'ftp', root: 'x' } }] }, 'pools[1].backend.type: unknown backend type: use one of local, s3, oss, redis'],
    [{ pools: [local('a'), local('a')] }, 'pools[1].name: duplicate pool name "a" (also pools[0])'],
    [{ pools: [local('a', { priority: -1 })] }, 'pools[0].priority: must be 0 or more'],
    [{ pools: [local('a', { priority: 1.5 })] }, 'pools[0].priority: must be a whole number'],
    [{ pools: [local('a', { maxUsagePercent: 120 })] }, 'pools[0].maxUsagePercent: must be from 0 to 100'],
    [{ pools: [local('a', { maxUsagePercent: -5 })] }, 'pools[0].maxUsagePercent: must be from 0 to 100'],
    [{ pools: [] }, 'pools: at least one pool is needed'],
    [{}, 'pools: required'],
    [{ pools: [local('a', { colour: 'red' })] }, 'pools[0]: unknown field "colour"'],
    [{ pools: [{ name: 'a' }] }, 'pools[0].backend: required'],
    [{ pools: [{ name: 's', backend: { type: 's3' } }] }, 'pools[0].backend.bucket: required'],
  ])('refuses %j with a message naming the field', (raw, expected) => {
    expect(problem(raw)).toContain(expected);
  });

  it('takes ${VAR} from the environment and names a missing one', () => {
    const raw = { pools: [{ name: 'r', backend: { type: 'redis', url: 'redis://:${REDIS_PASSWORD}@127.0.0.1:6379' } }] };
    const config = parseConfig(raw, { REDIS_PASSWORD: 'hunter22' });
    expect(config.pools[0]?.backend).toMatchObject({ url: 'redis://:hunter22@127.0.0.1:6379' });
    expect(problem(raw, {})).toContain('pools[0].backend.url: environment variable REDIS_PASSWORD is not set');
    expect(parseConfig({ pools: [local('a', { backend: { type: 'local', root: '${ROOT:-/srv/hls}' } })] }, {}).pools[0]?.backend).toMatchObject({ root: '/srv/hls' });
  });
});

describe('config discovery', () => {
  async function dir(files: Record<string, string>): Promise<string> {
    const d = await mkdtemp(path.join(tmpdir(), 'flux-cfg-'));
    for (const [name, text] of Object.entries(files)) await writeFile(path.join(d, name), text);
    return d;
  }

  it('uses the embedded default with no config file, rooted at FLUX_STORAGE_ROOT when set', async () => {
    const cwd = await dir({});
    const loaded = await loadConfig({ cwd, env: {} });
    expect(loaded.file).toBeNull();
    expect(loaded.config.pools).toMatchObject([{ name: 'local', backend: { type: 'local', root: './flux-data' } }]);
    expect((await loadConfig({ cwd, env: { FLUX_STORAGE_ROOT: '/data/hls' } })).config.pools[0]?.backend).toMatchObject({ root: '/data/hls' });
  });

  it('finds storage.config.json before package.json and rc files', async () => {
    const cwd = await dir({
      'storage.config.json': JSON.stringify({ pools: [local('from-json')] }),
      '.flux-storagerc.json': JSON.stringify({ pools: [local('from-rc')] }),
      'package.json': JSON.stringify({ name: 'x', 'flux-storage': { pools: [local('from-pkg')] } }),
    });
    expect((await loadConfig({ cwd, env: {} })).config.pools[0]?.name).toBe('from-json');
  });

  it('reads a flux-storage key in package.json', async () => {
    const cwd = await dir({ 'package.json': JSON.stringify({ name: 'x', 'flux-storage': { pools: [local('from-pkg')] } }) });
    expect((await loadConfig({ cwd, env: {} })).config.pools[0]?.name).toBe('from-pkg');
  });

  it('--config wins over FLUX_STORAGE_CONFIG, which wins over the search', async () => {
    const cwd = await dir({
      'storage.config.json': JSON.stringify({ pools: [local('searched')] }),
      'a.json': JSON.stringify({ pools: [local('from-flag')] }),
      'b.json': JSON.stringify({ pools: [local('from-env')] }),
    });
    expect((await loadConfig({ cwd, env: { FLUX_STORAGE_CONFIG: 'b.json' } })).config.pools[0]?.name).toBe('from-env');
    expect((await loadConfig({ cwd, file: 'a.json', env: { FLUX_STORAGE_CONFIG: 'b.json' } })).config.pools[0]?.name).toBe('from-flag');
  });

  it('says what is wrong with malformed JSON, a missing file and an empty file, in one line', async () => {
    const cwd = await dir({ 'storage.config.json': '{ "pools": [ }', 'empty.json': '' });
    await expect(loadConfig({ cwd, env: {} })).rejects.toThrow(/^cannot read the config: .*storage\.config\.json/);
    await expect(loadConfig({ cwd, file: 'nope.json', env: {} })).rejects.toThrow('config file nope.json (from --config) does not exist');
    await expect(loadConfig({ cwd, file: 'empty.json', env: {} })).rejects.toThrow(/empty/);
  });

  it('resolves relative local roots against the config file folder', async () => {
    const cwd = await dir({ 'storage.config.json': JSON.stringify({ pools: [local('a')] }) });
    expect((await loadConfig({ cwd, env: {} })).baseDir).toBe(cwd);
  });
});

describe('Redactor', () => {
  it('masks URL credentials and secret fields', () => {
    const redactor = Redactor.fromConfig({ pools: [{ backend: { url: 'redis://:s3cr3t-pass@10.0.0.1:6379', accessKeySecret: 'OSS-SECRET-VALUE', accessKeyId: 'AKIDVALUE' } }] });
    const text = redactor.redact('failed redis://:s3cr3t-pass@10.0.0.1:6379 with OSS-SECRET-VALUE and AKIDVALUE, also s3cr3t-pass');
    expect(text).not.toMatch(/s3cr3t|OSS-SECRET|AKIDVALUE/);
    expect(text).toContain('redis://***@10.0.0.1:6379');
  });
});

describe('storage.config.example.json', () => {
  it('is a valid config that shows every backend type', async () => {
    const raw = JSON.parse(await import('node:fs/promises').then((fs) => fs.readFile(new URL('../../storage.config.example.json', import.meta.url), 'utf8')));
    const env = { AWS_ACCESS_KEY_ID: 'id', AWS_SECRET_ACCESS_KEY: 'secret', OSS_ACCESS_KEY_ID: 'id', OSS_ACCESS_KEY_SECRET: 'secret', REDIS_PASSWORD: 'pw' };
    const config = parseConfig(raw, env);
    expect(config.pools.map((p) => p.backend.type).sort()).toEqual(['local', 'oss', 'redis', 's3']);
  });
});
