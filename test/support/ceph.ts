// Ceph's RADOS Gateway (a real S3 server) for the tests: one private single-node cluster per test
// file (test/support/ceph-cluster.mjs, run as a child process that stops the cluster and removes its
// folder when this process ends, however it ends), shared by the file's servers, each of which is
// one fresh bucket on it. A server has the same shape as the s3rver one, so a test runs on both.

import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { describeIfInstalled } from './needs.js';
import type { S3Request, S3TestServer } from './s3rver.js';

export const CEPH_LAUNCHER = fileURLToPath(new URL('./ceph-cluster.mjs', import.meta.url));
export const CEPH_INSTALL_HINT = 'radosgw is not installed: apt-get install -y --no-install-recommends ceph-mon ceph-osd radosgw';

const START_TIMEOUT_MS = 90_000;

let available: boolean | undefined;
export function cephAvailable(): boolean {
  available ??= ['radosgw', 'ceph-mon', 'ceph-osd', 'monmaptool'].every((tool) => spawnSync('sh', ['-c', `command -v ${tool}`], { stdio: 'ignore' }).status === 0);
  return available;
}

/**
 * describe() that needs Ceph: without it, the suite fails on CI (with the install hint) and is
 * skipped elsewhere (printing the same hint).
 */
export function describeWithCeph(name: string, body: () => void): void {
  describeIfInstalled(cephAvailable(), CEPH_INSTALL_HINT, name, body);
}

interface Ready {
  endpoint: string;
  port: number;
  accessKeyId: string;
  secretAccessKey: string;
  startMs: number;
}

/** The cluster of this test file: the launcher process and its answers. */
interface Cluster extends Ready {
  call<T>(op: string, ...args: unknown[]): Promise<T>;
}

let shared: Promise<Cluster> | undefined;

function launch(): Promise<Cluster> {
  const child: ChildProcess = spawn(process.execPath, [CEPH_LAUNCHER], { stdio: ['pipe', 'pipe', 'pipe'] });
  // The launcher stops the cluster when its stdin closes (this process exiting closes it) or when
  // it sees its parent gone.
  child.unref();
  (child.stdin as unknown as { unref?: () => void }).unref?.();
  (child.stdout as unknown as { unref?: () => void }).unref?.();
  (child.stderr as unknown as { unref?: () => void }).unref?.();
  let stderr = '';
  child.stderr!.setEncoding('utf8').on('data', (chunk: string) => {
    stderr = (stderr + chunk).slice(-4000);
  });
  const waiting = new Map<number, { resolve: (value: unknown) => void; reject: (error: Error) => void }>();
  let nextId = 1;
  return new Promise<Cluster>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`Ceph did not start within ${START_TIMEOUT_MS} ms: ${stderr}`)), START_TIMEOUT_MS);
    child.once('exit', (code) => {
      clearTimeout(timer);
      const error = new Error(`the Ceph launcher exited (${code}): ${stderr}`);
      reject(error);
      for (const pending of waiting.values()) pending.reject(error);
      shared = undefined;
    });
    createInterface({ input: child.stdout! }).on('line', (line) => {
      const message = JSON.parse(line) as { event?: string; id?: number; result?: unknown; error?: string } & Ready;
      if (message.event === 'ready') {
        clearTimeout(timer);
        resolve({
          endpoint: message.endpoint,
          port: message.port,
          accessKeyId: message.accessKeyId,
          secretAccessKey: message.secretAccessKey,
          startMs: message.startMs,
          call: <T>(op: string, ...args: unknown[]) =>
            new Promise<T>((resolveCall, rejectCall) => {
              const id = nextId++;
              waiting.set(id, { resolve: resolveCall as (value: unknown) => void, reject: rejectCall });
              child.stdin!.write(`${JSON.stringify({ id, op, args })}\n`);
            }),
        });
        return;
      }
      const pending = message.id === undefined ? undefined : waiting.get(message.id);
      if (pending === undefined) return;
      waiting.delete(message.id!);
      if (message.error === undefined) pending.resolve(message.result);
      else pending.reject(new Error(message.error));
    });
  });
}

/** The Ceph cluster of this test file, started on first use. */
export function cephCluster(): Promise<Cluster> {
  shared ??= launch();
  return shared;
}

/**
 * A fresh bucket on this file's RGW, as an S3TestServer. stop()/start() stop and start radosgw
 * itself (the cluster keeps its data); close() leaves the cluster to the next server of the file.
 */
export async function startRgwServer(): Promise<S3TestServer> {
  const cluster = await cephCluster();
  const bucket = `flux-${randomBytes(4).toString('hex')}`;
  await cluster.call('createBucket', bucket);
  const { endpoint, port, accessKeyId, secretAccessKey } = cluster;
  return {
    kind: 'rgw',
    endpoint,
    port,
    bucket,
    accessKeyId,
    secretAccessKey,
    poolOptions: (extra = {}) => ({
      type: 's3',
      bucket,
      endpoint,
      forcePathStyle: true,
      region: 'us-east-1',
      accessKeyId,
      secretAccessKey,
      checksums: 'when_required',
      ...extra,
    }),
    requests: async () => (await cluster.call<S3Request[]>('requests')).filter((r) => r.path === `/${bucket}` || r.path.startsWith(`/${bucket}/`)),
    resetRequests: () => cluster.call('resetRequests'),
    stop: () => cluster.call('stopGateway'),
    start: () => cluster.call('startGateway'),
    close: async () => undefined,
  };
}
