// A private s3rver for the tests: a child node process (test/support/s3rver-server.mjs) on
// 127.0.0.1, with a fresh data folder, one bucket, and a log of every HTTP request it received, so a
// test can count requests (s3rver is laxer than S3, so only a count proves our own batching).

import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

export const S3RVER_LAUNCHER = fileURLToPath(new URL('./s3rver-server.mjs', import.meta.url));

export interface S3Request {
  method: string;
  path: string;
  query: string;
  /** The Content-MD5 header, if sent. */
  contentMd5?: string;
  /** The x-amz-content-sha256 header: the signed payload's SHA-256, or UNSIGNED-PAYLOAD. */
  payloadHash?: string;
  /** The HTTP status answered (RGW's log has it, s3rver's does not). */
  status?: number;
}

/** The `backend` object of a pool config that points at this server. */
export interface S3PoolOptions {
  type: 's3';
  bucket: string;
  endpoint: string;
  forcePathStyle: true;
  region: 'us-east-1';
  accessKeyId: string;
  secretAccessKey: string;
  checksums: 'when_required';
  [option: string]: unknown;
}

/** An S3 server for the tests: s3rver (this file) or Ceph RGW (ceph.ts); RGW logs no headers. */
export interface S3TestServer {
  readonly kind: 's3rver' | 'rgw';
  /** `http://127.0.0.1:PORT` */
  readonly endpoint: string;
  readonly port: number;
  readonly bucket: string;
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
  poolOptions(extra?: Record<string, unknown>): S3PoolOptions;
  /**
   * The file in which s3rver keeps an object's bytes (plain keys only). Changing it damages the
   * object as a failing disk would: the stored md5 (ETag) stays, the bytes served differ. s3rver
   * only (RGW keeps objects in RADOS).
   */
  objectFile?(key: string): string;
  /** Every request received since the start (or the last resetRequests), oldest first. */
  requests(): Promise<S3Request[]>;
  resetRequests(): Promise<void>;
  /** Kills the server; its data and port are kept for start(). */
  stop(): Promise<void>;
  /** Starts it again on the same port with the same data. */
  start(): Promise<void>;
  /** Kills the server and removes its data. */
  close(): Promise<void>;
}

/** s3rver's own server: its data is plain files. */
export interface S3rverTestServer extends S3TestServer {
  readonly kind: 's3rver';
  /** The folder s3rver keeps its buckets in (an object is `<directory>/<bucket>/<key>._S3rver_object`). */
  readonly directory: string;
}

const START_TIMEOUT_MS = 15_000;

/** Children still running, killed when the test process exits however it exits. */
const running = new Set<ChildProcess>();
let exitHookInstalled = false;
function track(child: ChildProcess): void {
  running.add(child);
  child.once('exit', () => running.delete(child));
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.once('exit', () => {
    for (const child of running) child.kill('SIGKILL');
  });
}

async function launch(dataDir: string, logFile: string, bucket: string, port: number): Promise<{ child: ChildProcess; port: number }> {
  const child = spawn(
    process.execPath,
    ['--openssl-legacy-provider', S3RVER_LAUNCHER, '--directory', dataDir, '--port', String(port), '--bucket', bucket, '--request-log', logFile, '--check-content-md5'],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  track(child);
  let stderr = '';
  child.stderr?.setEncoding('utf8').on('data', (chunk: string) => {
    stderr = (stderr + chunk).slice(-4000);
  });
  const lines = createInterface({ input: child.stdout! });
  try {
    const listening = await new Promise<number>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`s3rver did not start within ${START_TIMEOUT_MS} ms: ${stderr}`)), START_TIMEOUT_MS);
      child.once('exit', (code) => {
        clearTimeout(timer);
        reject(new Error(`s3rver exited with code ${code} before it listened: ${stderr}`));
      });
      lines.on('line', (line) => {
        const event = JSON.parse(line) as { event?: string; port?: number };
        if (event.event === 'listening' && typeof event.port === 'number') {
          clearTimeout(timer);
          resolve(event.port);
        }
      });
    });
    return { child, port: listening };
  } catch (error) {
    child.kill('SIGKILL');
    throw error;
  }
}

/** Stops the server: SIGTERM lets requests being written finish (see s3rver-server.mjs), SIGKILL after 5 s. */
async function kill(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
  await exited;
  clearTimeout(timer);
}

export async function startS3Server(): Promise<S3rverTestServer> {
  const dir = await mkdtemp(path.join(tmpdir(), 'flux-s3rver-'));
  const dataDir = path.join(dir, 'data');
  const logFile = path.join(dir, 'requests.jsonl');
  await writeFile(logFile, '');
  const bucket = `flux-${randomBytes(4).toString('hex')}`;
  const first = await launch(dataDir, logFile, bucket, 0);
  const port = first.port;
  let current: ChildProcess | undefined = first.child;
  const endpoint = `http://127.0.0.1:${port}`;

  const server: S3rverTestServer = {
    kind: 's3rver',
    endpoint,
    port,
    bucket,
    directory: dataDir,
    accessKeyId: 'S3RVER',
    secretAccessKey: 'S3RVER',
    poolOptions: (extra = {}) => ({
      type: 's3',
      bucket,
      endpoint,
      forcePathStyle: true,
      region: 'us-east-1',
      accessKeyId: 'S3RVER',
      secretAccessKey: 'S3RVER',
      checksums: 'when_required',
      ...extra,
    }),
    objectFile: (key) => {
      const parts = key.split('/');
      return path.join(dataDir, bucket, ...parts.slice(0, -1), `${parts.at(-1)!}._S3rver_object`);
    },
    async requests() {
      const text = await readFile(logFile, 'utf8');
      return text
        .split('\n')
        .filter((line) => line !== '')
        .map((line) => JSON.parse(line) as S3Request);
    },
    async resetRequests() {
      await writeFile(logFile, '');
    },
    async stop() {
      if (current !== undefined) await kill(current);
      current = undefined;
    },
    async start() {
      if (current !== undefined) return;
      current = (await launch(dataDir, logFile, bucket, port)).child;
    },
    async close() {
      await server.stop();
      await rm(dir, { recursive: true, force: true });
    },
  };
  return server;
}
