// "Cloud SDKs are loaded only when a pool of their type is used": the built binary, run with a module
// tracer preloaded, on local pools loads none of @aws-sdk/client-s3, ali-oss and ioredis; each of
// them is seen in the trace as soon as a pool of its type is listed (which proves the tracer sees it).

import { execFile } from 'node:child_process';
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { workdir } from './run.js';

const bin = fileURLToPath(new URL('../../bin/flux-storage.js', import.meta.url));
const tracer = fileURLToPath(new URL('../support/module-trace.mjs', import.meta.url));
const SDKS = { s3: '@aws-sdk/client-s3', oss: 'ali-oss', redis: 'ioredis' } as const;

/** The SDKs a run of the binary loaded, from its module trace. */
async function sdksLoaded(cwd: string, args: string[]): Promise<string[]> {
  const trace = path.join(cwd, `.trace-${args[0]}`);
  await promisify(execFile)(process.execPath, ['--import', tracer, bin, ...args], {
    cwd,
    env: { PATH: process.env.PATH, FLUX_MODULE_TRACE: trace },
  }).catch((error: { code?: unknown }) => {
    if (typeof error.code !== 'number') throw error; // a failing command is fine; a failing spawn is not
  });
  const lines = (await readFile(trace, 'utf8')).split('\n');
  expect(lines.some((line) => line.includes('/dist/cli/bundle.js')), 'the trace shows the CLI itself').toBe(true);
  // The CLI loads the AWS SDK from its own bundle of it (dist/cli/vendor, src/commonjs.ts).
  return Object.values(SDKS).filter((name) => lines.some((line) => line.includes(`/node_modules/${name}/`) || line.endsWith(`/dist/cli/vendor/${name}.cjs`)));
}

/** Every module path of a run's trace. */
async function traced(cwd: string, args: string[]): Promise<string[]> {
  await sdksLoaded(cwd, args);
  return (await readFile(path.join(cwd, `.trace-${args[0]}`), 'utf8')).split('\n');
}

describe('SDKs load only for pools of their type', () => {
  it('no cloud SDK is loaded by any command on local pools', async () => {
    const cwd = await workdir({
      pools: [
        { name: 'a', priority: 1, backend: { type: 'local', root: './a', createRoot: true } },
        { name: 'b', priority: 2, backend: { type: 'local', root: './b', createRoot: true } },
      ],
    });
    await writeFile(path.join(cwd, 'segment_1.ts'), Buffer.alloc(188, 0x47));
    for (const args of [
      ['--help'],
      ['put', 'cam1', 'segment_1.ts'],
      ['ls'],
      ['ls', 'cam1'],
      ['get', 'cam1', '1', '-o', 'copy.ts'],
      ['pools', 'status'],
      ['migrate', '--from', 'a', '--to', 'b'],
      ['cleanup', '--all', '--keep', '0'],
      ['rm', 'cam1', '1'],
    ]) {
      expect(await sdksLoaded(cwd, args), `flux-storage ${args.join(' ')}`).toEqual([]);
    }
  }, 120_000);

  it.each([
    ['s3', { type: 's3', bucket: 'bucket', endpoint: 'http://127.0.0.1:1', forcePathStyle: true, accessKeyId: 'id', secretAccessKey: 'secret', retries: 0 }],
    ['oss', { type: 'oss', bucket: 'bucket', endpoint: 'http://127.0.0.1:1', accessKeyId: 'id', accessKeySecret: 'secret' }],
    ['redis', { type: 'redis', url: 'redis://127.0.0.1:1', connectTimeoutMs: 500, commandTimeoutMs: 500 }],
  ] as const)('a pool of type %s loads its SDK and no other', async (type, backend) => {
    const cwd = await workdir({
      pools: [
        { name: 'disk', priority: 1, backend: { type: 'local', root: './disk', createRoot: true } },
        { name: 'cloud', priority: 2, retries: 0, timeoutMs: 2000, backend },
      ],
    });
    expect(await sdksLoaded(cwd, ['ls'])).toEqual([SDKS[type]]);
  }, 60_000);

  it.each([
    ['@aws-sdk/client-s3', { type: 's3', bucket: 'bucket', endpoint: 'http://127.0.0.1:1', forcePathStyle: true, accessKeyId: 'id', secretAccessKey: 'secret', retries: 0 }],
    ['ioredis', { type: 'redis', url: 'redis://127.0.0.1:1', connectTimeoutMs: 500, commandTimeoutMs: 500 }],
    ['ali-oss', { type: 'oss', bucket: 'bucket', endpoint: 'http://127.0.0.1:1', accessKeyId: 'id', accessKeySecret: 'secret' }],
  ] as const)('the CLI loads %s from its vendored bundle, not node_modules, and V8 takes the code cache made at build time', async (name, backend) => {
    const cwd = await workdir({ pools: [{ name: 'cloud', priority: 1, retries: 0, timeoutMs: 2000, backend }] });
    const lines = await traced(cwd, ['ls']);
    expect(lines.filter((line) => line.endsWith(`/dist/cli/vendor/${name}.cjs`))).toHaveLength(1);
    expect(lines.filter((line) => line.includes(`/node_modules/${name}/`))).toEqual([]);
    // In a process of its own, as the CLI runs: the cache fits this Node and is not refused; without
    // a vendored bundle (a build that made none) the loader says so, and the CLI uses require().
    const vendor = fileURLToPath(new URL('../../dist/cli/vendor', import.meta.url));
    const commonjs = new URL('../../dist/commonjs.js', import.meta.url).href;
    const { stdout } = await promisify(execFile)(process.execPath, [
      '--input-type=module',
      '-e',
      `const m = await import(${JSON.stringify(commonjs)}); const pkg = m.loadVendored(${JSON.stringify(vendor)}, ${JSON.stringify(name)}); const none = m.loadVendored(${JSON.stringify(path.join(cwd, 'no-vendor'))}, ${JSON.stringify(name)}); console.log(JSON.stringify({ loads: m.vendorLoads, client: typeof (pkg.S3Client ?? pkg.Redis ?? pkg), none: none === undefined, vendored: m.VENDORED.includes(${JSON.stringify(name)}) }));`,
    ]);
    expect(JSON.parse(stdout)).toEqual({ loads: [{ file: path.join(vendor, `${name}.cjs`), cache: true }], client: 'function', none: true, vendored: true });
  }, 60_000);
});
