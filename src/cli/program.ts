// The commander program: global options, and one registration per command (src/cli/commands/).
// Each action runs inside runAction, which builds the context, reports errors and closes storage.

import { readFileSync } from 'node:fs';
import { exampleConfigPath } from '../config/example.js';
import { isStorageError } from '../errors.js';
import { aliasOption, Command, CommanderError } from './commander.js';
import { registerCleanup } from './commands/cleanup.js';
import { registerCompletion } from './commands/completion.js';
import { registerConfig } from './commands/config.js';
import { registerDu } from './commands/du.js';
import { registerGet } from './commands/get.js';
import { registerLs } from './commands/ls.js';
import { registerMigrate } from './commands/migrate.js';
import { registerPools } from './commands/pools.js';
import { registerPurge } from './commands/purge.js';
import { registerPlaylist } from './commands/playlist.js';
import { registerPut } from './commands/put.js';
import { registerRm } from './commands/rm.js';
import { registerServe } from './commands/serve.js';
import { registerVerify } from './commands/verify.js';
import { CommandContext, type CliIO, type GlobalOptions } from './context.js';
import { EXIT, exitCodeFor, type ExitCode } from './exit-codes.js';
import { Output } from './output.js';

const HINTS: Partial<Record<string, string>> = {
  Unavailable: 'check that the server is up; "flux-storage pools status" shows every pool',
  Timeout: 'the server did not answer in time; "flux-storage pools status" shows every pool',
  PermissionDenied: 'check the credentials in the config or environment',
};

/** Commands that delete: their notice about the embedded default is shown even with --quiet. */
const DESTRUCTIVE = new Set(['cleanup', 'rm', 'migrate', 'purge']);

/** The hint after an error line; a config error's names the example config by a path that can be opened. */
function hintFor(code: string, cwd: string): string | undefined {
  return code === 'ConfigInvalid' ? `fix the config file; every field is shown in ${exampleConfigPath(cwd)}` : HINTS[code];
}

export type ActionHandler = (ctx: CommandContext, ...args: never[]) => Promise<void>;

export interface Program {
  command: Command;
  /** The exit code of the action that ran (commander errors are mapped by main.ts). */
  exitCode(): ExitCode;
  /** Wraps a command's handler: context, error reporting, closing. */
  action<H extends ActionHandler>(handler: H): (...args: unknown[]) => Promise<void>;
}

function packageVersion(): string {
  const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };
  return pkg.version;
}

export function buildProgram(io: CliIO): Program {
  let code: ExitCode = EXIT.ok;
  const command = new Command('flux-storage')
    .description('Manage HLS segments (hls/{stream}/segment_{id}.ts) across local, S3, OSS and Redis pools.')
    .version(packageVersion(), '-V, --version')
    .option('-c, --config <file>', 'config file (default: storage.config.json or FLUX_STORAGE_CONFIG)')
    .option('--json', 'print exactly one JSON document on stdout', false)
    .option('-q, --quiet', 'print nothing but errors (and results that were asked for)', false)
    .option('-v, --verbose', 'log each object operation (pool, key, outcome, duration) to stderr', false)
    .exitOverride()
    .showHelpAfterError('(add --help for usage)')
    .configureOutput({
      writeOut: (text) => io.stdout.write(text),
      writeErr: (text) => io.stderr.write(text),
    })
    .addHelpText(
      'after',
      `
Exit codes: 0 success, 1 an operation failed, 2 usage or config error, 3 not found, 130 interrupted.
With no config file, one local pool "local" is used at ./flux-data (or $FLUX_STORAGE_ROOT).`,
    );

  const program: Program = {
    command,
    exitCode: () => code,
    action(handler) {
      return async (...args: unknown[]) => {
        const self = args[args.length - 1] as Command;
        const globals = self.optsWithGlobals<GlobalOptions>();
        const out = new Output({ stdout: io.stdout, stderr: io.stderr, env: io.env, json: globals.json === true, quiet: globals.quiet === true });
        const ctx = new CommandContext(io, out, { ...globals, json: globals.json === true, quiet: globals.quiet === true });
        if (DESTRUCTIVE.has(self.name()) && self.parent === command) ctx.destructive = self.name();
        try {
          await (handler as unknown as (ctx: CommandContext, ...rest: unknown[]) => Promise<void>)(ctx, ...args.slice(0, -1));
        } catch (error) {
          ctx.fail(exitCodeFor(error));
          out.error(error, isStorageError(error) ? hintFor(error.code, io.cwd) : undefined);
          if (out.json) out.printJson({ error: isStorageError(error) ? error.toJSON() : { code: 'Internal', message: String(error) } });
        } finally {
          await ctx.close();
          code = ctx.exitCode;
        }
      };
    },
  };
  for (const register of [registerPut, registerGet, registerLs, registerRm, registerPools, registerCleanup, registerMigrate, registerPurge, registerConfig, registerPlaylist, registerServe, registerVerify, registerDu, registerCompletion]) {
    register(program);
  }
  // The names other tools give the same options (rclone's --transfers, the -n of rsync and make).
  const sub = (name: string): Command => command.commands.find((c) => c.name() === name) as Command;
  aliasOption(sub('migrate'), '--transfers', '--concurrency');
  for (const name of ['migrate', 'cleanup']) aliasOption(sub(name), '-n', '--dry-run');
  return program;
}

/** Runs the CLI on `argv` (without node and the script) and returns the exit code. */
export async function runCli(argv: readonly string[], io: CliIO): Promise<ExitCode> {
  const program = buildProgram(io);
  try {
    await program.command.parseAsync([...argv], { from: 'user' });
    return program.exitCode();
  } catch (error) {
    if (error instanceof CommanderError) {
      if (error.exitCode === 0) return EXIT.ok;
      if (argv.includes('--json')) {
        io.stdout.write(`${JSON.stringify({ error: { code: 'InvalidArgument', message: error.message.replace(/^error: /, '') } }, null, 2)}\n`);
      }
      return EXIT.usage;
    }
    throw error;
  }
}
