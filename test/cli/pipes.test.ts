// Closed pipes are normal: the built binary through real pipes (`| head`), as a shell user runs it.
// The command ends quietly (no stack trace, no error line) with the exit code of its work: 0.

import { execFile } from 'node:child_process';
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import { beforeAll, describe, expect, it } from 'vitest';
import { workdir } from './run.js';
import { BIN } from './terminal.js';

const quote = (s: string): string => `'${s.replace(/'/g, `'\\''`)}'`;

let cwd: string;

beforeAll(async () => {
  cwd = await workdir({ pools: [{ name: 'ssd', backend: { type: 'local', root: './data' } }] });
  // Each output is larger than a pipe's buffer (64 KiB), so the reader closes it mid-way.
  const big = path.join(cwd, 'data/hls/big');
  await mkdir(big, { recursive: true });
  await Promise.all(Array.from({ length: 3000 }, (_, i) => writeFile(path.join(big, `segment_${i}.ts`), 'x')));
  await Promise.all(Array.from({ length: 1200 }, (_, i) => mkdir(path.join(cwd, `data/hls/stream-${i}`)).then(() => writeFile(path.join(cwd, `data/hls/stream-${i}/segment_1.ts`), 'x'))));
  await writeFile(path.join(big, 'segment_5.ts'), Buffer.alloc(4 * 1024 * 1024, 1));
});

/** Runs `flux-storage <args> | <reader>` in bash; the binary's own exit status and stderr. */
async function piped(args: string[], reader: string): Promise<{ status: number; readerStatus: number; stderr: string; read: string }> {
  const command = `${quote(process.execPath)} ${[BIN, ...args].map(quote).join(' ')} 2>stderr.txt | ${reader} > read.txt; echo "\${PIPESTATUS[0]} \${PIPESTATUS[1]}"`;
  const { stdout } = await promisify(execFile)('bash', ['-c', command], { cwd, env: { PATH: process.env.PATH } });
  const [status, readerStatus] = stdout.trim().split(' ').map(Number);
  const { readFile } = await import('node:fs/promises');
  return { status: status!, readerStatus: readerStatus!, stderr: await readFile(path.join(cwd, 'stderr.txt'), 'utf8'), read: await readFile(path.join(cwd, 'read.txt'), 'utf8') };
}

describe('a reader that closes the pipe', () => {
  it.each([
    [['ls'], 'head -n 3'],
    [['ls', 'big'], 'head -n 3'],
    [['ls', '--json'], 'head -c 100'],
    [['ls', 'big', '--json'], 'head -c 100'],
    [['get', 'big', '5'], 'head -c 10'],
    [['--help'], 'head -n 1'],
    [['ls', '--help'], 'head -n 1'],
    [['ls', 'big'], 'true'],
  ])('%j | %s: exit 0, nothing on stderr', async (args, reader) => {
    const result = await piped(args, reader);
    expect(result.stderr).toBe('');
    expect(result.status).toBe(0);
    expect(result.readerStatus).toBe(0);
    if (reader !== 'true') expect(result.read.length).toBeGreaterThan(0);
  });

  it('keeps the exit code of the work: a failed listing is still exit 1, with its one error line', async () => {
    const broken = await workdir({ pools: [{ name: 'ssd', backend: { type: 'local', root: path.join(cwd, 'data') } }, { name: 'gone', priority: 2, backend: { type: 'local', root: './a-file' } }] });
    await writeFile(path.join(broken, 'a-file'), 'not a folder');
    const command = `${quote(process.execPath)} ${quote(BIN)} ls big 2>stderr.txt | head -n 1 >/dev/null; echo "\${PIPESTATUS[0]}"; cat stderr.txt`;
    const { stdout } = await promisify(execFile)('bash', ['-c', command], { cwd: broken, env: { PATH: process.env.PATH } });
    const [status, ...stderr] = stdout.trim().split('\n');
    expect(status).toBe('1');
    expect(stderr).toHaveLength(1);
    expect(stderr[0]).toMatch(/^error: listing is incomplete: pool "gone"/);
  });
});
