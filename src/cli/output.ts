// The only module that writes to the terminal: tables for people, one JSON document for scripts
// (--json), notices and errors on stderr, and a spinner only when stderr is a terminal.

import { styleText } from 'node:util';
import type { Writable } from 'node:stream';
import prettyBytes from 'pretty-bytes';
import type { Redactor } from '../config/redact.js';
import type { PoolOperation } from '../pool/pool.js';
import { isStorageError } from '../errors.js';
import { drawPlain, drawTable, type Align } from './table.js';

export { drawTable } from './table.js';

export interface TerminalStream extends Writable {
  isTTY?: boolean;
  /** A terminal's width, in characters. */
  columns?: number;
}

export interface OutputOptions {
  stdout: TerminalStream;
  stderr: TerminalStream;
  env: NodeJS.ProcessEnv;
  json: boolean;
  quiet: boolean;
}

export interface Progress {
  update(text: string): void;
  /** Stops the spinner (or the periodic line) and leaves nothing behind on the screen. */
  stop(): void;
}

type Color = 'green' | 'yellow' | 'red' | 'dim' | 'bold';

/**
 * A reader that closed the pipe (`| head`, `| less` then q) had what it wanted: the write errors
 * that follow (EPIPE, then writes to the destroyed stream) are not failures and print nothing. The
 * command finishes its work and exits with that work's code; further output is dropped.
 */
export function quietOnClosedPipes(...streams: TerminalStream[]): void {
  for (const stream of streams) {
    stream.on('error', (error: NodeJS.ErrnoException) => {
      if (error.code !== 'EPIPE' && error.code !== 'ERR_STREAM_DESTROYED') throw error;
    });
  }
}

/** Whether the stream can still be written (false once its reader has gone). */
function open(stream: TerminalStream): boolean {
  return !stream.destroyed && !stream.writableEnded;
}

export class Output {
  readonly json: boolean;
  readonly quiet: boolean;
  private readonly options: OutputOptions;
  private redactor: Redactor | undefined;
  private jsonWritten = false;

  constructor(options: OutputOptions) {
    this.options = options;
    this.json = options.json;
    this.quiet = options.quiet;
  }

  /** From now on every message and JSON document is passed through this redactor. */
  useRedactor(redactor: Redactor): void {
    this.redactor = redactor;
  }

  /** Colour on stdout: a terminal, no NO_COLOR (https://no-color.org), not TERM=dumb. */
  get color(): boolean {
    return this.colorOn(this.options.stdout);
  }

  /** NO_COLOR (no-color.org) and TERM=dumb turn colour off everywhere, the spinner's included. */
  private get colorAllowed(): boolean {
    const { env } = this.options;
    return (env.NO_COLOR === undefined || env.NO_COLOR === '') && env.TERM !== 'dumb';
  }

  private colorOn(stream: TerminalStream): boolean {
    return stream.isTTY === true && this.colorAllowed;
  }

  /** Colour for stderr's own prefixes, decided by stderr (a redirected stderr gets no escape codes). */
  private paintErr(color: Color, text: string): string {
    return this.colorOn(this.options.stderr) ? styleText(color, text, { validateStream: false }) : text;
  }

  get stderrIsTerminal(): boolean {
    return this.options.stderr.isTTY === true;
  }

  get stdoutIsTerminal(): boolean {
    return this.options.stdout.isTTY === true;
  }

  paint(color: Color, text: string): string {
    return this.color ? styleText(color, text, { validateStream: false }) : text;
  }

  /** The one JSON document of a --json run. */
  printJson(document: unknown): void {
    if (this.jsonWritten) throw new Error('a second JSON document would break --json');
    this.jsonWritten = true;
    this.writeOut(`${this.redact(JSON.stringify(document, jsonReplacer, 2))}\n`);
  }

  /** A result for people (skipped under --json, where the document carries it). */
  print(text: string): void {
    if (!this.json) this.writeOut(`${this.redact(text)}\n`);
  }

  /** Box drawing: only on a terminal that can show it (not a pipe, a file or TERM=dumb). */
  get boxes(): boolean {
    return this.options.stdout.isTTY === true && this.options.env.TERM !== 'dumb';
  }

  /**
   * A table on stdout: boxes fitted to the terminal's width (cells wrapped between words) on a
   * terminal, plain aligned columns elsewhere (one line per row, for awk and grep).
   */
  async table(head: string[], rows: (string | number)[][], align: Align[] = []): Promise<void> {
    if (this.json) return;
    const cells = rows.map((row) => row.map(String));
    if (!this.boxes) return this.print(drawPlain(head, cells, align));
    this.print(drawTable(head, cells, align, (h) => this.paint('bold', h), this.options.stdout.columns));
  }

  /** Raw bytes to stdout (get without -o). */
  writeBytes(data: Uint8Array): Promise<void> {
    const { stdout } = this.options;
    if (!open(stdout)) return Promise.resolve();
    return new Promise((resolve, reject) =>
      stdout.write(data, (error?: NodeJS.ErrnoException | null) => (error && error.code !== 'EPIPE' && error.code !== 'ERR_STREAM_DESTROYED' ? reject(error) : resolve())),
    );
  }

  /** A notice on stderr, silent with --quiet or --json. */
  notice(text: string): void {
    if (!this.quiet && !this.json) this.writeErr(`${this.redact(text)}\n`);
  }

  /** A warning on stderr, shown even with --json (stdout stays one document); --quiet hides it. */
  warn(text: string): void {
    if (!this.quiet) this.writeErr(`${this.paintErr('yellow', 'warning:')} ${this.redact(text)}\n`);
  }

  /**
   * Failures of a batch, one error line per cause (pool, code and reason) with the count and a few
   * examples, largest group first: `9,900 segments not deleted from s3: Timeout (...), e.g. a, b, c
   * and 9,897 more`. `head(count, pool)` says what failed, e.g. with countOf(count, 'segment').
   * Always shown, under --json too (on stderr); the JSON document keeps every failure itself.
   */
  errorsByCause(failures: readonly FailedItem[], head: (count: number, pool: string | undefined) => string, examples = 3): void {
    for (const group of groupByCause(failures)) {
      const shown = group.items.slice(0, examples).join(', ');
      const more = group.items.length > examples ? ` and ${formatCount(group.items.length - examples)} more` : '';
      this.error(`${head(group.items.length, group.pool)}: ${group.cause}, ${group.items.length === 1 ? '' : 'e.g. '}${shown}${more}`);
    }
  }

  /** An object operation under --verbose: one line on stderr, with the time, for a cron run's post-mortem. */
  operation(op: PoolOperation): void {
    const outcome = op.error === undefined ? 'ok' : `${op.error.code} (${oneLine(op.error.detail)})`;
    this.writeErr(`${this.redact(`${new Date().toISOString()} ${op.pool} ${op.op} ${op.key ?? '-'} ${outcome} ${op.durationMs.toFixed(1)} ms`)}\n`);
  }

  /** A warning that --quiet does not hide (what a cron job's mail must carry). */
  alert(text: string): void {
    this.writeErr(`${this.paintErr('yellow', 'warning:')} ${this.redact(text)}\n`);
  }

  /** An error line on stderr, always shown. */
  error(error: unknown, hint?: string): void {
    const message = isStorageError(error) ? error.message : error instanceof Error ? error.message : String(error);
    const line = `${this.paintErr('red', 'error:')} ${this.redact(oneLine(message))}${hint === undefined ? '' : ` (${hint})`}`;
    this.writeErr(`${line}\n`);
  }

  /**
   * A spinner on stderr when it is a terminal; otherwise, for a job (`lines: true`, the default:
   * cleanup, put, migrate, verify), a plain line every `everyMs` with the latest text, so that a
   * cron log shows it is alive. A query whose output is its answer (ls, du, pools, config) passes
   * `lines: false`: off a terminal it writes nothing, however long it takes. None with --quiet.
   */
  async progress(text: string, { everyMs = 5000, lines = true }: { everyMs?: number; lines?: boolean } = {}): Promise<Progress> {
    const silent: Progress = { update: () => undefined, stop: () => undefined };
    if (this.quiet) return silent;
    if (this.stderrIsTerminal && this.options.env.CI !== 'true' && this.options.env.TERM !== 'dumb') {
      const { default: ora } = await import('ora');
      // discardStdin off: ora would put the terminal in raw mode, where Ctrl-C is a byte on stdin
      // (which ora never reads: stdin stays paused) instead of SIGINT, so Ctrl-C did nothing.
      const spinner = ora({ text, stream: this.options.stderr, isEnabled: true, discardStdin: false, color: this.colorAllowed ? 'cyan' : false }).start();
      // A process ended by Ctrl-C (process.exit in main.ts) leaves no spinner frame on the screen;
      // the cursor ora hid is shown again by its own exit hook.
      const clear = (): void => void spinner.stop();
      process.once('exit', clear);
      return {
        update: (next) => (spinner.text = this.redact(next)),
        stop: () => {
          process.off('exit', clear);
          spinner.stop();
        },
      };
    }
    if (!lines) return silent;
    let latest = text;
    let lastShown = '';
    const timer = setInterval(() => {
      if (latest !== lastShown) this.writeErr(`${this.redact(latest)}\n`);
      lastShown = latest;
    }, everyMs);
    timer.unref();
    return { update: (next) => (latest = next), stop: () => clearInterval(timer) };
  }

  private writeOut(text: string): void {
    if (open(this.options.stdout)) this.options.stdout.write(text);
  }

  private writeErr(text: string): void {
    if (open(this.options.stderr)) this.options.stderr.write(text);
  }

  redact(text: string): string {
    return this.redactor === undefined ? text : this.redactor.redact(text);
  }
}

/** One failed item of a batch: what it is (a key, `segment 42`) and why it failed. */
export interface FailedItem {
  item: string;
  error: unknown;
}

export interface CauseGroup {
  /** The pool named by the errors of the group, if any. */
  pool: string | undefined;
  /** `Timeout (delete did not answer within 15000 ms)`: the code and the reason, without the key. */
  cause: string;
  items: string[];
}

/**
 * Failures grouped by pool and cause, largest group first (ties in order of first appearance).
 * The cause is the error's code and its message without the key, so 9,900 timeouts of one pool
 * are one group while a timeout and a refusal are two.
 */
export function groupByCause(failures: readonly FailedItem[]): CauseGroup[] {
  const groups = new Map<string, CauseGroup>();
  for (const { item, error } of failures) {
    const storageError = isStorageError(error) ? error : undefined;
    const pool = storageError?.pool;
    const message = storageError?.detail ?? (error instanceof Error ? error.message : String(error));
    const key = storageError?.key;
    const reason = oneLine(key === undefined || key === '' ? message : withoutWord(message, key)).replace(/ {2,}/g, ' ').trim();
    const cause = storageError === undefined ? reason : reason === '' ? storageError.code : `${storageError.code} (${reason})`;
    const id = `${pool ?? ''}\u0000${cause}`;
    let group = groups.get(id);
    if (group === undefined) groups.set(id, (group = { pool, cause, items: [] }));
    group.items.push(item);
  }
  return [...groups.values()].sort((a, b) => b.items.length - a.items.length);
}

/** 9900 → "9,900" (not toLocaleString: its ICU data costs about 20 ms to load). */
export function formatCount(n: number): string {
  return String(n).replace(/\B(?=(\d{3})+(?!\d))/g, ',');
}

/** "1 segment", "9,900 segments". */
export function countOf(n: number, noun: string, plural = `${noun}s`): string {
  return `${formatCount(n)} ${n === 1 ? noun : plural}`;
}

export function formatBytes(bytes: number | null): string {
  // No fraction-digit options: they make pretty-bytes call toLocaleString, whose ICU data costs
  // about 20 ms to load on the first call (measured in the start-up benchmark).
  return bytes === null ? '-' : prettyBytes(bytes, { binary: true });
}

export function formatDate(date: Date): string {
  return date.toISOString().replace('T', ' ').replace(/\.\d+Z$/, 'Z');
}

/** `text` without `word` where it stands alone (bounded by spaces, quotes, brackets or the ends). */
function withoutWord(text: string, word: string): string {
  const escaped = word.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  return text.replace(new RegExp(`(?<=^|[\\s"'(])${escaped}(?=$|[\\s"'),:;])`, 'g'), '');
}

function oneLine(text: string): string {
  return text.replace(/\s*\n\s*/g, ' ');
}

function jsonReplacer(_key: string, value: unknown): unknown {
  if (value instanceof Error) return isStorageError(value) ? value.toJSON() : { code: 'Internal', message: value.message };
  return value;
}
