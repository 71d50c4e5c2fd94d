// At a real terminal (a pseudo-terminal, through the built binary): Ctrl-C stops every command
// within a second and leaves the terminal as it was.

import { mkdir, writeFile } from 'node:fs/promises';
import net from 'node:net';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { workdir } from './run.js';
import { inTerminal } from './terminal.js';

/** A TCP listener that accepts connections and never answers. */
let silent: net.Server;
let connections = 0;
const sockets = new Set<net.Socket>();

beforeAll(async () => {
  silent = net.createServer((socket) => {
    connections++;
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
});

afterAll(async () => {
  for (const socket of sockets) socket.destroy();
  await new Promise((resolve) => silent.close(resolve));
});

async function silentStore(): Promise<string> {
  const { port } = silent.address() as net.AddressInfo;
  const cwd = await workdir({
    pools: [
      { name: 'slow', timeoutMs: 60_000, backend: { type: 's3', bucket: 'bucket', endpoint: `http://127.0.0.1:${port}`, forcePathStyle: true, accessKeyId: 'k', secretAccessKey: 's', requestTimeoutMs: 60_000 } },
    ],
  });
  await writeFile(path.join(cwd, 'segment_1.ts'), 'x');
  return cwd;
}

async function connectionMade(since: number): Promise<void> {
  const deadline = Date.now() + 20_000;
  while (connections <= since) {
    if (Date.now() > deadline) throw new Error('the command never reached the server');
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/** The cursor is not left hidden: every hide (ESC[?25l) is followed by a show (ESC[?25h). */
function cursorShown(screen: string): boolean {
  return screen.lastIndexOf('\u001b[?25l') < screen.lastIndexOf('\u001b[?25h') || !screen.includes('\u001b[?25l');
}

describe('Ctrl-C at a terminal', () => {
  it.each([
    [['ls'], /listing…/],
    [['ls', 'cam1'], /listing…/],
    [['pools', 'status'], /probing pools…/],
    [['get', 'cam1', '1', '-o', 'out.ts'], undefined],
    [['put', 'cam1', 'segment_1.ts'], undefined],
    [['rm', 'cam1', '1'], undefined],
    [['cleanup', 'cam1', '--keep', '0'], undefined],
  ])('%j against a server that never answers: exit 130 within a second, terminal unchanged', async (args, spinner) => {
    const cwd = await silentStore();
    const before = connections;
    const run = inTerminal(args, { cwd });
    await connectionMade(before);
    if (spinner !== undefined) await run.waitFor(spinner);
    const typedAt = performance.now();
    run.type('\x03');
    const result = await run.done;
    expect(result.code, result.screen).toBe(130);
    expect(result.endedAt - typedAt).toBeLessThan(1500);
    expect(result.sttyAfter).toBe(result.sttyBefore);
    expect(cursorShown(result.screen)).toBe(true);
    expect(result.screen).not.toMatch(/at .*\.js:\d+|Error:/);
  });

  it('put reading a segment from the terminal (stdin): exit 130', async () => {
    const cwd = await workdir();
    const run = inTerminal(['put', 'cam1', '-', '--id', '1'], { cwd });
    await new Promise((resolve) => setTimeout(resolve, 1000));
    run.type('not a segment');
    const typedAt = performance.now();
    run.type('\x03');
    const result = await run.done;
    expect(result.code).toBe(130);
    expect(result.endedAt - typedAt).toBeLessThan(1500);
    expect(result.sttyAfter).toBe(result.sttyBefore);
  });

  it('migrate prints its summary and exits 130, the terminal as it was', async () => {
    const cwd = await workdir({
      pools: [
        { name: 'a', priority: 1, backend: { type: 'local', root: './a', createRoot: true } },
        { name: 'b', priority: 2, backend: { type: 'local', root: './b', createRoot: true } },
      ],
    });
    const dir = path.join(cwd, 'a/hls/cam1');
    await mkdir(dir, { recursive: true });
    await Promise.all(Array.from({ length: 3000 }, (_, i) => writeFile(path.join(dir, `segment_${i}.ts`), 'x')));
    const run = inTerminal(['migrate', '--from', 'a', '--to', 'b'], { cwd });
    await run.waitFor(/migrating a → b: [1-9]/);
    const typedAt = performance.now();
    run.type('\x03');
    const result = await run.done;
    expect(result.code, result.screen).toBe(130);
    expect(result.endedAt - typedAt).toBeLessThan(1500);
    expect(result.screen).toMatch(/PLANNED.*COPIED/);
    expect(result.screen).toMatch(/interrupted: copies in flight were stopped/);
    expect(result.sttyAfter).toBe(result.sttyBefore);
    expect(cursorShown(result.screen)).toBe(true);
  });
});
