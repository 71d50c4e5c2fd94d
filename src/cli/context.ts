// What every command receives: the output, the global options, and storage opened on demand from
// the config (only the pools a command needs, so a local-only command never loads a cloud SDK).

import path from 'node:path';
import type { Readable } from 'node:stream';
import type { LoadedConfig } from '../config/load.js';
import type { SegmentStorage } from '../segments/segment-storage.js';
import { EXIT, type ExitCode } from './exit-codes.js';
import type { Output, TerminalStream } from './output.js';

export interface CliIO {
  stdout: TerminalStream;
  stderr: TerminalStream;
  stdin: Readable & { isTTY?: boolean };
  env: NodeJS.ProcessEnv;
  cwd: string;
  /** Aborted on Ctrl-C, once a command has claimed interrupts. */
  signal?: AbortSignal;
  /** A command that can stop cleanly calls this; otherwise Ctrl-C ends the process at once. */
  claimInterrupts?: () => void;
}

export interface GlobalOptions {
  config?: string;
  json: boolean;
  quiet: boolean;
  /** Log each object operation (pool, key, outcome, duration) to stderr. */
  verbose?: boolean;
}

export class CommandContext {
  readonly io: CliIO;
  readonly out: Output;
  readonly globals: GlobalOptions;
  /** The exit code so far; commands raise it, main.ts sets the process's. */
  exitCode: ExitCode = EXIT.ok;
  /** The name of a command that deletes (cleanup, rm, migrate, purge), set by program.ts. */
  destructive: string | undefined;
  private loaded: Promise<LoadedConfig> | undefined;
  private readonly opened: SegmentStorage[] = [];

  constructor(io: CliIO, out: Output, globals: GlobalOptions) {
    this.io = io;
    this.out = out;
    this.globals = globals;
  }

  /** Records a failure without stopping; the worst code wins (usage over failed, and so on). */
  fail(code: ExitCode): void {
    const rank = (c: ExitCode): number => [EXIT.ok, EXIT.notFound, EXIT.failed, EXIT.usage, EXIT.interrupted].indexOf(c);
    if (rank(code) > rank(this.exitCode)) this.exitCode = code;
  }

  config(): Promise<LoadedConfig> {
    // Loaded on demand, so that --help and usage errors never pay for the config schema.
    this.loaded ??= import('../config/load.js')
      .then(({ loadConfig }) => loadConfig({ file: this.globals.config, cwd: this.io.cwd, env: this.io.env }))
      .then((loaded) => {
      this.out.useRedactor(loaded.redactor);
      if (loaded.file === null) {
        const root = loaded.config.pools[0]?.backend.type === 'local' ? loaded.config.pools[0].backend.root : '';
        if (this.destructive === undefined) this.out.notice(`note: no config file found; using one local pool "local" at ${root} (see storage.config.example.json)`);
        // A command that deletes says so even with --quiet: a cron job run from another folder
        // would otherwise clean an empty default store, or the wrong one, without a word.
        else this.out.alert(`no config file found from ${this.io.cwd}: ${this.destructive} runs on the embedded default, one local pool "local" at ${path.resolve(loaded.baseDir, root)} (give -c <file>)`);
      }
      return loaded;
    });
    return this.loaded;
  }

  /**
   * SegmentStorage over every pool, or over `pool` alone. Closed by main.ts after the command.
   * `signal` replaces the CLI's for a command that stops on its own terms (serve lets responses
   * under way finish after Ctrl-C).
   */
  async storage(options: { pool?: string | undefined; pools?: readonly string[]; signal?: AbortSignal } = {}): Promise<SegmentStorage> {
    const { config, baseDir } = await this.config();
    const only = options.pools ?? (options.pool === undefined ? undefined : [options.pool]);
    const { openStorage } = await import('../config/open.js');
    // Every backend call of the command is tied to the CLI's signal: Ctrl-C (or SIGTERM, SIGHUP)
    // aborts calls in flight instead of waiting for them.
    const storage = await openStorage(config, { baseDir, signal: options.signal ?? this.io.signal, ...(only === undefined ? {} : { only }) });
    this.opened.push(storage);
    if (this.globals.verbose === true) for (const pool of storage.manager.pools) pool.onOperation((operation) => this.out.operation(operation));
    return storage;
  }

  async close(): Promise<void> {
    await Promise.all(this.opened.map((storage) => storage.manager.close()));
  }
}
