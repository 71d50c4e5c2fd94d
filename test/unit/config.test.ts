// Config: discovery, ${VAR} interpolation, and one-line errors that name the pool and field.

import { existsSync } from 'node:fs';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
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
    [{ pools: [local('a', { colour: 'red' })] }, 'pools[0].colour: unknown field'],
    [{ pools: [local('a', { maxUsagePercnt: 80 })] }, 'pools[0].maxUsagePercnt: unknown field; did you mean maxUsagePercent?'],
    [{ pools: [local('a', { backend: { type: 'local', root: './a', createroot: true } })] }, 'pools[0].backend.createroot: unknown field; did you mean createRoot?'],
    [{ pools: [{ name: 's', backend: { type: 's3', bucket: 'my-bucket', endpont: 'http://127.0.0.1:9000' } }] }, 'pools[0].backend.endpont: unknown field; did you mean endpoint?'],
    [{ layot: {}, pools: [local('a')] }, 'layot: unknown field; did you mean layout?'],
    [{ pools: [local('a')], maxSegmentByte: 1 }, 'maxSegmentByte: unknown field; did you mean maxSegmentBytes?'],
    [{ pools: [local('a')], layout: { prefix: '.flux-storage' } }, 'layout.prefix: collides with flux-storage\'s own ".flux-storage" folder'],
    [{ pools: [local('a')], layout: { prefix: '.flux-storage/hls' } }, 'layout.prefix: collides with flux-storage\'s own ".flux-storage" folder'],
    [{ pools: [local('a', { backend: { type: 'local', root: '/' } })] }, 'pools[0].backend.root: must not be the filesystem root "/"'],
    [{ pools: [local('a', { backend: { type: 'local', root: '/srv/hls\0x' } })] }, 'pools[0].backend.root: contains a NUL character'],
    [{ pools: [local('a', { name: 'a\0' })] }, 'pools[0].name: contains a NUL character'],
    [{ pools: [local('a')], 'x\0': 1 }, 'the top level: a field name: contains a NUL character'],
    [{ pools: [local('a')], maxSegmentBytes: 0 }, 'maxSegmentBytes: must be a positive whole number'],
    [{ pools: [{ name: 'a' }] }, 'pools[0].backend: required'],
    [{ pools: [{ name: 's', backend: { type: 's3' } }] }, 'pools[0].backend.bucket: required'],
  ])('refuses %j with a message naming the field', (raw, expected) => {
    expect(problem(raw)).toContain(expected);
  });

  it.each([
    [{ pools: [local('a', { colour: 'red' })] }],
    [{ pools: [local('a', { prio: 1 })] }],
    [{ pools: [local('a', { backend: { type: 'local', root: './a', url: 'x' } })] }],
  ])('suggests nothing for an unknown field that resembles no known one: %j', (raw) => {
    expect(problem(raw)).not.toContain('did you mean');
  });

  it('refuses a relative root that climbs to the filesystem root, as it resolves against the config folder', () => {
    const raw = { pools: [local('a', { backend: { type: 'local', root: '../../../../../../../../../..' } })] };
    expect(() => parseConfig(raw, {}, 'storage.config.json', '/srv/flux')).toThrow('storage.config.json: pools[0].backend.root: resolves to the filesystem root "/"');
    expect(() => parseConfig(raw, {}, 'storage.config.json')).not.toThrow();
  });

  it('names a NUL that came from an environment variable without quoting it', () => {
    expect(problem({ pools: [local('a', { backend: { type: 'local', root: '${ROOT}' } })] }, { ROOT: '/srv\0hunter2' })).toMatch(/^storage\.config\.json: pools\[0\]\.backend\.root: contains a NUL character \(from an environment variable\)$/);
  });

  it('fills maxSegmentBytes with 1 GiB', () => {
    expect(parseConfig({ pools: [local('a')] }, {}).maxSegmentBytes).toBe(1024 ** 3);
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
    await expect(loadConfig({ cwd, env: {} })).rejects.toThrow(/^storage\.config\.json:1:14: not valid JSON: a value was expected$/);
    await expect(loadConfig({ cwd, file: 'nope.json', env: {} })).rejects.toThrow('config file nope.json (from --config) does not exist');
    await expect(loadConfig({ cwd, file: 'empty.json', env: {} })).rejects.toThrow(/empty/);
  });

  describe('a file that does not parse: line, column and reason, never an excerpt (it may hold a secret)', () => {
    const SECRET = 'hunter2-TOP-SECRET-value';
    const failure = async (files: Record<string, string>, file?: string): Promise<string> => {
      const cwd = await dir(files);
      const error = await loadConfig({ cwd, env: {}, ...(file === undefined ? {} : { file }) }).then(
        () => new Error('expected the config to be refused'),
        (e: Error) => e,
      );
      expect(error).toMatchObject({ code: 'ConfigInvalid' });
      expect(error.message).not.toContain(SECRET);
      expect(error.message).not.toContain('\n');
      return error.message;
    };

    it('JSON with an unquoted secret', async () => {
      const text = `{\n  "pools": [\n    { "name": "s3", "backend": { "type": "s3", "bucket": "b",\n      "secretAccessKey": ${SECRET} } }\n  ]\n}\n`;
      expect(await failure({ 'storage.config.json': text })).toBe('storage.config.json:4:26: not valid JSON: unexpected characters (a text value must be in double quotes)');
      expect(await failure({ 'other.json': text }, 'other.json')).toMatch(/^other\.json:4:26: /);
    });

    it('JSON with a trailing comma, a comment, or cut short', async () => {
      expect(await failure({ 'storage.config.json': `{ "pools": [], "x": "${SECRET}", }` })).toMatch(/^storage\.config\.json:1:\d+: not valid JSON: a property name in double quotes was expected$/);
      expect(await failure({ 'storage.config.json': `// ${SECRET}\n{}` })).toBe('storage.config.json:1:1: not valid JSON: comments are not allowed in JSON');
      expect(await failure({ 'storage.config.json': `{ "pools": [ { "secret": "${SECRET}` })).toMatch(/^storage\.config\.json:1:\d+: not valid JSON: a string is not closed$/);
    });

    it('a package.json that is not JSON', async () => {
      expect(await failure({ 'package.json': `{ "name": "x", "flux-storage": { "token": ${SECRET} } }` })).toMatch(/^package\.json:1:\d+: not valid JSON: unexpected characters/);
    });

    it('YAML', async () => {
      const text = `pools:\n  - name: s3\n    backend:\n      secretAccessKey: ${SECRET}\n     bad: [\n`;
      expect(await failure({ '.flux-storagerc.yaml': text })).toMatch(/^\.flux-storagerc\.yaml:5:\d+: not valid YAML: bad indentation of a mapping entry$/);
      expect(await failure({ '.flux-storagerc': `pools: [ { name: a, token: ${SECRET}\n` })).toMatch(/^\.flux-storagerc:\d+:\d+: not valid YAML: /);
    });

    it('an empty file points at the example config by its path', async () => {
      const message = await failure({ '.flux-storagerc.json': '  \n' });
      const example = fileURLToPath(new URL('../../storage.config.example.json', import.meta.url));
      expect(message).toBe(`.flux-storagerc.json: the file is empty: see ${example}`);
      expect(existsSync(example)).toBe(true);
    });
  });

  it('reads YAML configs', async () => {
    const cwd = await dir({ '.flux-storagerc.yml': 'pools:\n  - name: from-yaml\n    backend: { type: local, root: ./y }\n' });
    expect((await loadConfig({ cwd, env: {} })).config.pools[0]?.name).toBe('from-yaml');
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

describe('config layout', () => {
  const layoutOf = (layout: unknown) => parseConfig({ layout, pools: [local('a')] }, {}).layout;

  it.each([
    ['nginx-rtmp'],
    [{ preset: 'srs', prefix: 'live' }],
    [{ segment: '{stream}-{seq}.ts', playlist: '{stream}.m3u8' }],
    [{ segment: '{stream}/{name}{seq:3}.m4s', playlist: '{stream}/{name}.m3u8', init: '{stream}/init.mp4', prefix: 'vod' }],
    [{ prefix: 'media', playlist: 'live.m3u8' }],
    [{ prefix: '' }],
  ])('takes %j as it is written', (layout) => {
    expect(layoutOf(layout)).toEqual(layout);
  });

  it.each([
    ['nginx', 'storage.config.json: layout: unknown preset "nginx"; the presets are flux, flux-fmp4, nginx-rtmp,'],
    [{ preset: 'srss' }, 'storage.config.json: layout: unknown preset "srss"; the presets are'],
    ['', 'storage.config.json: layout: must name a preset'],
    [7, 'storage.config.json: layout: must be a preset name (such as "nginx-rtmp") or an object'],
    [{ segment: '{seq}.ts', playlist: '{stream}.m3u8' }, 'storage.config.json: layout.segment "{seq}.ts": needs a {stream} field'],
    [{ segment: '{stream}.ts', playlist: '{stream}.m3u8' }, 'storage.config.json: layout.segment "{stream}.ts": needs exactly one id field'],
    [{ segment: '{stream}{seq}.ts', playlist: '{stream}.m3u8' }, 'storage.config.json: layout is ambiguous: "a12.ts", the segment of stream "a" id 12'],
    [{ segment: '{stream}-{seq}.ts' }, 'storage.config.json: layout: name a preset'],
    [{ segment: '{stream}-{sequence}.ts', playlist: '{stream}.m3u8' }, 'unknown field {sequence}'],
    [{ prefx: 'live', preset: 'srs' }, 'storage.config.json: layout.prefx: unknown field; did you mean prefix?'],
    [{ preset: 'srs', prefix: '../up' }, 'storage.config.json: layout.prefix "../up":'],
    [{ playlist: '{stream}.m3u8' }, 'storage.config.json: layout: a "playlist" template needs a "segment" template'],
  ])('refuses %j in one line naming the field', (layout, expected) => {
    const message = problem({ layout, pools: [local('a')] });
    expect(message).toContain(expected);
    expect(message).not.toContain('\n');
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
