// A server that accepts TCP connections and never answers: the dead server of the timeout tests
// (an S3, OSS or Redis endpoint that hangs). It counts connections, so a test can wait until a
// client is really waiting on it instead of sleeping.

import { createServer, type Socket } from 'node:net';

export interface SilentServer {
  readonly port: number;
  /** Connections accepted so far. */
  readonly connections: number;
  /** Connections still open. */
  readonly open: number;
  /** Resolves once at least `count` connections were accepted. */
  connected(count?: number): Promise<void>;
  /** Resolves once every accepted connection was closed by its client. */
  allClosed(): Promise<void>;
  /** Destroys every connection and stops listening. */
  close(): Promise<void>;
}

export async function startSilentServer(): Promise<SilentServer> {
  const sockets = new Set<Socket>();
  let connections = 0;
  const waiters: { count: number; resolve: () => void }[] = [];
  const closedWaiters: (() => void)[] = [];
  const server = createServer((socket) => {
    connections++;
    sockets.add(socket);
    socket.on('error', () => undefined);
    socket.on('close', () => {
      sockets.delete(socket);
      if (sockets.size === 0) for (const resolve of closedWaiters.splice(0)) resolve();
    });
    for (const waiter of waiters.filter((w) => connections >= w.count)) {
      waiters.splice(waiters.indexOf(waiter), 1);
      waiter.resolve();
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('the silent server has no TCP port');
  return {
    port: address.port,
    get connections() {
      return connections;
    },
    get open() {
      return sockets.size;
    },
    allClosed() {
      if (sockets.size === 0) return Promise.resolve();
      return new Promise((resolve) => closedWaiters.push(resolve));
    },
    connected(count = 1) {
      if (connections >= count) return Promise.resolve();
      return new Promise((resolve) => waiters.push({ count, resolve }));
    },
    async close() {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
