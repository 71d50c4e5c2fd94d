// The bin entry: the only place that sets the process's exit code.

import { quietOnClosedPipes } from './output.js';
import { runCli } from './program.js';

export async function main(): Promise<void> {
  // The AWS SDK warns on every run under Node 20 that its future releases need Node 22; our lock
  // file pins a release that supports Node 20, so for CLI users (and cron mail) it is only noise.
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
  quietOnClosedPipes(process.stdout, process.stderr);
  // Ctrl-C ends the process at once, unless the running command claimed it to stop cleanly
  // (migrate lets in-flight copies finish); a second Ctrl-C always ends it.
  const controller = new AbortController();
  let claimed = false;
  process.on('SIGINT', () => {
    if (!claimed || controller.signal.aborted) process.exit(130);
    controller.abort();
  });
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
}
