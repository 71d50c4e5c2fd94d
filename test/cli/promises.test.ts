// README promises that no other test kept (test/PROMISES.md, "Promises without a test"): each test
// here fails when its promise breaks (each was broken on purpose once to see it fail).
//   - local `fsync: true`: the object's file is fsynced before it is renamed into place (strace of
//     the built binary), and not with `fsync: false`;
//   - a second Ctrl-C ends the process at once (the handler of main.ts that migrate and serve share);
//   - the progress line every 5 s when stderr is not a terminal (migrate through pipes);
//   - S3's `retries`: the SDK's own attempts, counted on the wire; `0` leaves them to the pool;
//   - secrets end to end: a store whose error messages quote the request's credentials, and the
//     built binary's output (table, error lines, --json) still shows none of them.

import { execFile, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { createServer as createHttpServer, get as httpGet, type IncomingMessage, type Server } from 'node:http';
import { connect, createServer as createTcpServer, type Socket } from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config/load.js';
import { openStorage } from '../../src/config/open.js';
import { StorageError } from '../../src/errors.js';
import { startSilentServer } from '../support/silent-server.js';
import { describeIfInstalled } from '../support/needs.js';
import { cli, workdir } from './run.js';

const bin = fileURLToPath(new URL('../../bin/flux-storage.js', import.meta.url));
const execFileP = promisify(execFile);

beforeAll(() => {
  expect(existsSync(fileURLToPath(new URL('../../dist/cli/bundle.js', import.meta.url))), 'run `npm run build` (npm test does)').toBe(true);
});

interface Ended {
  code: number | null;
  stdout: string;
  stderr: string;
}

function ended(child: ChildProcess, out: { stdout: string; stderr: string }): Promise<Ended> {
  return new Promise((resolve) => child.once('close', (code) => resolve({ code, ...out })));
}

function spawnBin(args: string[], cwd: string): { child: ChildProcess; out: { stdout: string; stderr: string } } {
  const child = spawn(process.execPath, [bin, ...args], { cwd, env: { PATH: process.env.PATH }, stdio: ['ignore', 'pipe', 'pipe'] });
  const out = { stdout: '', stderr: '' };
  child.stdout!.setEncoding('utf8').on('data', (chunk: string) => (out.stdout += chunk));
  child.stderr!.setEncoding('utf8').on('data', (chunk: string) => (out.stderr += chunk));
  return { child, out };
}

const straceInstalled = spawnSync('strace', ['-V']).status === 0;

describeIfInstalled(straceInstalled, 'install strace (apt-get install strace) for the fsync test', 'local fsync', () => {
  /** The syscalls of `put` on a local pool with the given fsync option, as strace -f -y prints them. */
  async function tracedPut(fsync: boolean): Promise<{ trace: string[]; cwd: string }> {
    const cwd = await workdir({ pools: [{ name: 'disk', backend: { type: 'local', root: './store', createRoot: true, fsync } }] });
    await writeFile(path.join(cwd, 'segment_1.ts'), Buffer.alloc(376, 0x47));
    const traceFile = path.join(cwd, 'trace');
    await execFileP('strace', ['-f', '-y', '-qq', '-e', 'trace=fsync,fdatasync,rename,renameat,renameat2', '-o', traceFile, process.execPath, bin, 'put', 'cam1', 'segment_1.ts'], { cwd, env: { PATH: process.env.PATH } });
    expect(await readFile(path.join(cwd, 'store/hls/cam1/segment_1.ts'))).toEqual(Buffer.alloc(376, 0x47));
    // "<unfinished ...>" and "<... resumed>" halves of a call interrupted by another thread's: the
    // first half names the call and its arguments, in the order the calls started.
    const trace = (await readFile(traceFile, 'utf8')).split('\n').filter((line) => line !== '' && !line.includes('resumed>'));
    return { trace, cwd };
  }

  /** The temporary file renamed onto the segment, and the trace's line of that rename. */
  function renameOf(trace: string[], target: string): { tmp: string; line: number } {
    const line = trace.findIndex((l) => /\brename(at2?)?\(/.test(l) && l.includes(`"${target}"`));
    expect(line, trace.join('\n')).toBeGreaterThanOrEqual(0);
    // rename("tmp", "target") or renameat(AT_FDCWD</dir>, "tmp", AT_FDCWD</dir>, "target"): the first quoted path.
    const tmp = /"([^"]+)"/.exec(trace[line]!)![1]!;
    expect(tmp).not.toBe(target);
    return { tmp, line };
  }

  it('with fsync: true the object is fsynced before it is renamed into place', async () => {
    const { trace, cwd } = await tracedPut(true);
    const { tmp, line } = renameOf(trace, path.join(cwd, 'store/hls/cam1/segment_1.ts'));
    const synced = trace.findIndex((l) => /\bf(data)?sync\(\d+</.test(l) && l.includes(`<${tmp}>`) && / = 0$/.test(l));
    expect(synced, trace.join('\n')).toBeGreaterThanOrEqual(0);
    expect(synced).toBeLessThan(line);
  }, 60_000);

  it('with fsync: false the object is renamed without an fsync', async () => {
    const { trace, cwd } = await tracedPut(false);
    const { tmp } = renameOf(trace, path.join(cwd, 'store/hls/cam1/segment_1.ts'));
    expect(trace.filter((l) => l.includes(`<${tmp}>`))).toEqual([]);
  }, 60_000);
});

describe('interrupts', () => {
  it('a second Ctrl-C ends the process at once with 130, while the first lets a response under way finish', async () => {
    const cwd = await workdir({ pools: [{ name: 'disk', backend: { type: 'local', root: './disk', createRoot: true } }] });
    await mkdir(path.join(cwd, 'disk/hls/big'), { recursive: true });
    await writeFile(path.join(cwd, 'disk/hls/big/segment_1.ts'), Buffer.alloc(64 * 1024 * 1024, 0x47));
    const { child, out } = spawnBin(['serve', '--port', '0'], cwd);
    const done = ended(child, out);
    const url = await new Promise<string>((resolve, reject) => {
      const look = (): void => {
        const match = / at (http:\/\/127\.0\.0\.1:\d+)\//.exec(out.stderr);
        if (match !== null) resolve(match[1]!);
      };
      child.stderr!.on('data', look);
      child.once('exit', () => reject(new Error(`serve exited: ${out.stderr}`)));
    });
    const port = Number(new URL(url).port);
    // A response under way that the client does not read: after the first Ctrl-C, serve waits for it.
    const response = await new Promise<IncomingMessage>((resolve, reject) => httpGet(`${url}/hls/big/segment_1.ts`, resolve).on('error', reject));
    response.pause();
    let received = 0;
    response.on('data', (chunk: Buffer) => (received += chunk.length));
    response.on('error', () => undefined);
    child.kill('SIGINT');
    // The first signal was handled once serve stopped listening (two signals sent before the
    // handler ran would arrive as one).
    for (let refused = false; !refused; ) {
      refused = await new Promise<boolean>((resolve) => {
        const socket: Socket = connect(port, '127.0.0.1');
        socket.once('connect', () => {
          socket.destroy();
          setTimeout(() => resolve(false), 50);
        });
        socket.once('error', () => resolve(true));
      });
    }
    expect(child.exitCode).toBeNull();
    const second = performance.now();
    child.kill('SIGINT');
    const result = await done;
    expect(result.code).toBe(130);
    // At once: long before the 10 s serve gives responses under way.
    expect(performance.now() - second).toBeLessThan(5000);
    expect(received).toBeLessThan(64 * 1024 * 1024);
    response.destroy();
  }, 60_000);
});

describe('progress when stderr is not a terminal', () => {
  it('migrate prints a progress line every 5 s through a pipe while a copy waits', async () => {
    const server = await startSilentServer();
    try {
      // The destination never answers, and each attempt may take 9 s: the run lasts past the first 5 s tick.
      const cwd = await workdir({
        pools: [
          { name: 'disk', priority: 1, backend: { type: 'local', root: './store', fsync: false } },
          { name: 'dead', priority: 2, timeoutMs: 9000, retries: 0, backend: { type: 'oss', bucket: 'silent', endpoint: `http://127.0.0.1:${server.port}`, accessKeyId: 'id', accessKeySecret: 'secret' } },
        ],
      });
      await mkdir(path.join(cwd, 'store/hls/cam1'), { recursive: true });
      await writeFile(path.join(cwd, 'store/hls/cam1/segment_1.ts'), Buffer.alloc(188, 0x47));
      const { child, out } = spawnBin(['migrate', '--from', 'disk', '--to', 'dead'], cwd);
      const result = await ended(child, out);
      expect(result.code).toBe(1);
      const lines = result.stderr.split('\n').filter((line) => line.startsWith('migrating disk → dead'));
      expect(lines.length, result.stderr).toBeGreaterThanOrEqual(1);
      // Plain lines: no spinner frames, no cursor movement.
      expect(result.stderr).not.toMatch(/\u001b/);
      // And none with --quiet.
      const quiet = spawnBin(['migrate', '--from', 'disk', '--to', 'dead', '--quiet'], cwd);
      const quietResult = await ended(quiet.child, quiet.out);
      expect(quietResult.stderr).not.toMatch(/^migrating/m);
    } finally {
      await server.close();
    }
  }, 90_000);
});

/** An S3 endpoint that answers every request with 503 ServiceUnavailable, counting the requests. */
async function startUnavailableS3(): Promise<{ server: Server; port: number; requests: string[] }> {
  const requests: string[] = [];
  const server = createHttpServer((request, response) => {
    requests.push(`${request.method} ${request.url}`);
    request.resume();
    request.on('end', () => {
      response.writeHead(503, { 'Content-Type': 'application/xml' });
      response.end('<?xml version="1.0" encoding="UTF-8"?><Error><Code>ServiceUnavailable</Code><Message>Please reduce your request rate.</Message></Error>');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { server, port: (server.address() as { port: number }).port, requests };
}

describe("S3's retries option", () => {
  let s3: Awaited<ReturnType<typeof startUnavailableS3>>;
  beforeAll(async () => {
    s3 = await startUnavailableS3();
  });
  afterAll(() => new Promise<void>((resolve) => s3.server.close(() => resolve())));

  async function getAttempts(backendRetries: number, poolRetries: number): Promise<number> {
    const cwd = await workdir({
      pools: [
        {
          name: 's3',
          retries: poolRetries,
          backend: { type: 's3', bucket: 'segments', region: 'us-east-1', endpoint: `http://127.0.0.1:${s3.port}`, forcePathStyle: true, accessKeyId: 'id', secretAccessKey: 'secret', retries: backendRetries },
        },
      ],
    });
    s3.requests.length = 0;
    const result = await cli(['get', 'cam1', '1', '--pool', 's3', '-o', 'out.ts'], { cwd });
    expect(result.code, result.stderr).toBe(1);
    expect(result.stderr).toMatch(/Unavailable|ServiceUnavailable|reduce your request rate/);
    const gets = s3.requests.filter((r) => r.includes('/segments/hls/cam1/segment_1.ts'));
    expect(gets.length).toBe(s3.requests.length);
    return gets.length;
  }

  it('the SDK makes 1 + retries attempts of a call, and the pool adds none of its own', async () => {
    expect(await getAttempts(3, 2)).toBe(4);
    expect(await getAttempts(1, 2)).toBe(2);
  }, 60_000);

  it('retries 0 leaves retrying to the pool: 1 + the pool retries attempts', async () => {
    expect(await getAttempts(0, 2)).toBe(3);
    expect(await getAttempts(0, 0)).toBe(1);
  }, 60_000);
});

/**
 * A store whose error messages quote what the request carried, as some S3-compatible stores and
 * proxies do: an S3 endpoint that answers 403 with the request's Authorization header (the access
 * key id) in the message, and a Redis server that answers AUTH with the password it was given.
 */
async function startEchoingServers(): Promise<{ s3Port: number; redisPort: number; close(): Promise<void> }> {
  const s3 = createHttpServer((request, response) => {
    request.resume();
    request.on('end', () => {
      response.writeHead(403, { 'Content-Type': 'application/xml' });
      response.end(`<?xml version="1.0" encoding="UTF-8"?><Error><Code>InvalidAccessKeyId</Code><Message>no such key in ${String(request.headers.authorization)}</Message></Error>`);
    });
  });
  const sockets = new Set<Socket>();
  const redis = createTcpServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => undefined);
    socket.on('data', (data: Buffer) => {
      // RESP arrays of bulk strings: answer each command with an error quoting its arguments.
      const parts = data.toString('utf8').split('\r\n').filter((_, i) => i % 2 === 0 && i > 0);
      socket.write(`-ERR invalid password for ${parts.join(' ')}\r\n`);
    });
  });
  await new Promise<void>((resolve) => s3.listen(0, '127.0.0.1', resolve));
  await new Promise<void>((resolve) => redis.listen(0, '127.0.0.1', resolve));
  return {
    s3Port: (s3.address() as { port: number }).port,
    redisPort: (redis.address() as { port: number }).port,
    close: async () => {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => s3.close(() => resolve()));
      await new Promise<void>((resolve) => redis.close(() => resolve()));
    },
  };
}

describe('secrets end to end', () => {
  const ACCESS_KEY_ID = 'AKIDQUOTEDBYTHESTORE';
  const PASSWORD = 'redis-pw-quoted-by-the-store';

  it("the library's S3 errors name no credential the store quoted back (library users have no CLI redactor)", async () => {
    const servers = await startEchoingServers();
    const storage = await openStorage(
      parseConfig({
        pools: [
          { name: 's3', priority: 1, timeoutMs: 5000, retries: 0, backend: { type: 's3', bucket: 'segments', region: 'us-east-1', endpoint: `http://127.0.0.1:${servers.s3Port}`, forcePathStyle: true, accessKeyId: ACCESS_KEY_ID, secretAccessKey: 'the-secret-key', retries: 0 } },
        ],
      }),
      { baseDir: process.cwd() },
    );
    try {
      const messages: string[] = [];
      for (const name of ['s3']) {
        const error = await (async () => {
          for await (const _ of storage.manager.pool(name).list('hls/')) return undefined;
          return undefined;
        })().catch((e: unknown) => e);
        expect(error, name).toBeInstanceOf(StorageError);
        messages.push(`${name}: ${(error as StorageError).message}`);
      }
      const all = messages.join('\n');
      expect(all).toMatch(/no such key in .*Credential=\*\*\*/);
      expect(all).not.toContain(ACCESS_KEY_ID);
    } finally {
      await storage.manager.close();
      await servers.close();
    }
  }, 60_000);

  it('the built binary shows no credential a store quoted back, in tables, error lines or --json', async () => {
    const servers = await startEchoingServers();
    try {
      const cwd = await workdir({
        pools: [
          { name: 's3', priority: 1, retries: 0, backend: { type: 's3', bucket: 'segments', region: 'us-east-1', endpoint: `http://127.0.0.1:${servers.s3Port}`, forcePathStyle: true, accessKeyId: ACCESS_KEY_ID, secretAccessKey: 'the-secret-key', retries: 0 } },
          { name: 'kv', priority: 2, retries: 0, backend: { type: 'redis', url: `redis://:${PASSWORD}@127.0.0.1:${servers.redisPort}` } },
        ],
      });
      await writeFile(path.join(cwd, 'segment_1.ts'), Buffer.alloc(188, 0x47));
      const outputs: string[] = [];
      for (const args of [['pools', 'status'], ['pools', 'status', '--json'], ['ls'], ['ls', '--json'], ['put', 'cam1', 'segment_1.ts'], ['get', 'cam1', '1', '-o', 'x.ts', '--json'], ['rm', 'cam1', '1']]) {
        const { child, out } = spawnBin(args, cwd);
        const result = await ended(child, out);
        outputs.push(`$ ${args.join(' ')} (exit ${String(result.code)})\n${result.stdout}${result.stderr}`);
      }
      const all = outputs.join('\n');
      // The stores did quote them: the errors reached the output (masked).
      expect(all).toMatch(/no such key in/);
      expect(all).toMatch(/invalid password for/);
      expect(all).not.toContain(ACCESS_KEY_ID);
      expect(all).not.toContain(PASSWORD);
      expect(all).not.toContain('the-secret-key');
    } finally {
      await servers.close();
    }
  }, 120_000);
});
