// Runs the built binary in a pseudo-terminal, as a person at a terminal does: util-linux `script`
// (always present on Debian) makes the pty; what the test writes to its stdin is typed at the
// terminal, so "\x03" is Ctrl-C, turned into SIGINT by the terminal driver when it is in cooked mode.

import { spawn } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const BIN = fileURLToPath(new URL('../../bin/flux-storage.js', import.meta.url));

export interface TerminalRun {
  /** Everything the terminal showed so far. */
  readonly screen: () => string;
  /** Resolves once the screen matches (rejects after `timeoutMs`). */
  waitFor(pattern: RegExp, timeoutMs?: number): Promise<void>;
  /** Types at the terminal ("\x03" is Ctrl-C). */
  type(text: string): void;
  /** The command's exit code and the terminal settings (`stty -a`) before and after it ran. */
  done: Promise<{ code: number; sttyBefore: string; sttyAfter: string; screen: string; endedAt: number }>;
}

const quote = (s: string): string => `'${s.replace(/'/g, `'\\''`)}'`;

export function inTerminal(args: readonly string[], options: { cwd: string; env?: NodeJS.ProcessEnv; columns?: number }): TerminalRun {
  const marks = ['.stty-before', '.stty-after', '.exit-code'].map((f) => path.join(options.cwd, f));
  // bash traps SIGINT with a handler (children get the default back) so that it survives the
  // Ctrl-C meant for the command and can record the exit code and the terminal state after it.
  const script = [
    'trap true INT',
    `stty cols ${options.columns ?? 100} rows 40`,
    `stty -a > ${quote(marks[0]!)}`,
    `${quote(process.execPath)} ${[BIN, ...args].map(quote).join(' ')}`,
    `echo $? > ${quote(marks[2]!)}`,
    `stty -a > ${quote(marks[1]!)}`,
  ].join('; ');
  const child = spawn('script', ['-qfec', `bash --norc -c ${quote(script)}`, '/dev/null'], {
    cwd: options.cwd,
    env: { PATH: process.env.PATH, TERM: 'xterm-256color', ...options.env },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let screen = '';
  const waiters = new Set<() => void>();
  const onData = (chunk: Buffer): void => {
    screen += chunk.toString('utf8');
    for (const check of waiters) check();
  };
  child.stdout.on('data', onData);
  child.stderr.on('data', onData);
  const done = new Promise<{ code: number; sttyBefore: string; sttyAfter: string; screen: string; endedAt: number }>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', async () => {
      const endedAt = performance.now();
      try {
        const [sttyBefore, sttyAfter, code] = await Promise.all(marks.map((f) => readFile(f, 'utf8')));
        resolve({ code: Number(code!.trim()), sttyBefore: sttyBefore!, sttyAfter: sttyAfter!, screen, endedAt });
      } catch (error) {
        reject(new Error(`the command did not finish in the terminal (${(error as Error).message}); screen:\n${screen}`));
      }
    });
  });
  return {
    screen: () => screen,
    waitFor(pattern, timeoutMs = 20_000) {
      return new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => {
          waiters.delete(check);
          reject(new Error(`${pattern} not shown within ${timeoutMs} ms; screen:\n${screen}`));
        }, timeoutMs);
        const check = (): void => {
          if (!pattern.test(screen)) return;
          clearTimeout(timer);
          waiters.delete(check);
          resolve();
        };
        waiters.add(check);
        check();
      });
    },
    type(text) {
      child.stdin.write(text);
    },
    done,
  };
}
