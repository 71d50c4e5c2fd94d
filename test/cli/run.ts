// Drives the CLI in-process with captured output, the way clasp's tests do: no child process.

import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { PassThrough, Readable } from 'node:stream';
import { runCli } from '../../src/cli/program.js';

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
  stdoutBytes: Buffer;
  /** stdout parsed as the one JSON document it must be. */
  json<T = Record<string, unknown>>(): T;
}

export interface RunOptions {
  cwd: string;
  env?: NodeJS.ProcessEnv;
  stdin?: Buffer;
  stdoutIsTTY?: boolean;
  /** The terminal's width when stdout is a terminal. */
  columns?: number;
  signal?: AbortSignal;
}

export async function cli(args: string[], options: RunOptions): Promise<CliResult> {
  const stdout = Object.assign(new PassThrough(), { isTTY: options.stdoutIsTTY ?? false, ...(options.columns === undefined ? {} : { columns: options.columns }) });
  const stderr = Object.assign(new PassThrough(), { isTTY: false });
  const out: Buffer[] = [];
  const err: Buffer[] = [];
  stdout.on('data', (chunk: Buffer) => out.push(chunk));
  stderr.on('data', (chunk: Buffer) => err.push(chunk));
  const code = await runCli(args, {
    stdout,
    stderr,
    stdin: Readable.from(options.stdin === undefined ? [] : [options.stdin]),
    env: { PATH: process.env.PATH, ...options.env },
    cwd: options.cwd,
    ...(options.signal === undefined ? {} : { signal: options.signal, claimInterrupts: () => undefined }),
  });
  const stdoutBytes = Buffer.concat(out);
  const text = stdoutBytes.toString('utf8');
  return {
    code,
    stdout: text,
    stderr: Buffer.concat(err).toString('utf8'),
    stdoutBytes,
    json: <T>() => JSON.parse(text) as T,
  };
}

/** A fresh working folder, optionally with a config file. */
export async function workdir(config?: unknown): Promise<string> {
  const dir = await mkdtemp(path.join(tmpdir(), 'flux-cli-'));
  if (config !== undefined) await writeFile(path.join(dir, 'storage.config.json'), JSON.stringify(config, null, 2));
  return dir;
}
