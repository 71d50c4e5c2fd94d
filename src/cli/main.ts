// The bin entry: the only place that sets the process's exit code.

import { StorageError } from '../errors.js';
import { EXIT } from './exit-codes.js';
import { quietOnClosedPipes } from './output.js';
import { runCli } from './program.js';

/** Signals handled like Ctrl-C; each ends the process with 130 (EXIT.interrupted). */
const INTERRUPTS: readonly NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP'];
/** How long the process may linger once the command returned. */
const EXIT_GRACE_MS = 500;

export async function main(): Promise<void> {
  // The AWS SDK warns on every run under Node 20 that its future releases need Node 22; our lock
  // file pins a release that supports Node 20, so for CLI users (and cron mail) it is only noise.
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
  quietOnClosedPipes(process.stdout, process.stderr);
  // Ctrl-C, SIGTERM (systemd, `timeout`) and SIGHUP (a closed ssh session) all interrupt: the
  // process ends at once with 130, unless the running command claimed interrupts to stop cleanly
  // (migrate prints its summary). Then the first signal aborts every backend call in flight (the
  // storage's calls are tied to this signal) and the command ends with 130; a second one always
  // ends the process at once.
  const controller = new AbortController();
  let claimed = false;
  const interrupt = (name: NodeJS.Signals): void => {
    if (!claimed || controller.signal.aborted) process.exit(EXIT.interrupted);
    controller.abort(new StorageError('Interrupted', `interrupted by ${name}`));
  };
  for (const name of INTERRUPTS) process.on(name, interrupt);
  try {
    process.exitCode = await runCli(process.argv.slice(2), {
      stdout: process.stdout,
      stderr: process.stderr,
      stdin: process.stdin,
      env: process.env,
      cwd: process.cwd(),
      signal: controller.signal,
      claimInterrupts: () => {
        claimed = true;
      },
    });
  } catch (error) {
    process.stderr.write(`error: ${error instanceof Error ? error.message : String(error)} (this is a bug in flux-storage)\n`);
    process.exitCode = 1;
  }
  // The command is done and its storage closed; nothing should be left running. Should a client
  // still hold a socket or timer, it cannot keep the process alive past this (the timer is unref'd:
  // it fires only when something else keeps the process alive).
  setTimeout(() => process.exit(), EXIT_GRACE_MS).unref();
}
