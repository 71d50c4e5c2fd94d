// serve: a read-only HTTP origin over the pools (src/serve/origin.ts) until Ctrl-C or SIGTERM.

import { InvalidArgumentError } from '../commander.js';
import type { CommandContext } from '../context.js';
import type { Program } from '../program.js';

interface ServeOptions {
  port: number;
  host: string;
  pool?: string;
}

/** How long responses under way may take to finish after a stop was asked for. */
const DRAIN_MS = 10_000;

async function serve(ctx: CommandContext, options: ServeOptions): Promise<void> {
  ctx.io.claimInterrupts?.();
  // Calls of responses under way outlive the first Ctrl-C by up to DRAIN_MS; then they are aborted.
  const calls = new AbortController();
  const storage = await ctx.storage({ pool: options.pool, signal: calls.signal });
  const { Origin } = await import('../../serve/origin.js');
  const origin = new Origin({ storage, pool: options.pool, host: options.host, port: options.port });
  const url = await origin.start();
  if (ctx.out.json) ctx.out.printJson({ url, pools: storage.manager.poolsFor(options.pool).map((p) => p.name) });
  else ctx.out.notice(`serving ${storage.manager.poolsFor(options.pool).map((p) => p.name).join(', ')} at ${url}/ (read-only; Ctrl-C to stop)`);
  await new Promise<void>((resolve) => {
    if (ctx.io.signal?.aborted) return resolve();
    ctx.io.signal?.addEventListener('abort', () => resolve(), { once: true });
  });
  const drained = setTimeout(() => calls.abort(), DRAIN_MS);
  await origin.close();
  clearTimeout(drained);
  ctx.out.notice('stopped');
}

const port = (value: string): number => {
  if (!/^[0-9]+$/.test(value) || Number(value) > 65535) throw new InvalidArgumentError('must be a port number, 0 to 65535 (0: any free port)');
  return Number(value);
};

export function registerServe(program: Program): void {
  program.command
    .command('serve')
    .description('serve the pools over HTTP, read-only, so players can play streams from wherever they are stored')
    .option('--port <n>', 'port to listen on (0: any free port)', port, 8080)
    .option('--host <address>', 'address to bind (127.0.0.1: this machine only)', '127.0.0.1')
    .option('--pool <name>', 'serve from this pool only')
    .addHelpText(
      'after',
      '\nRoutes: GET /<key> (Range, HEAD, ETag), /<stream>/vod.m3u8?from=&to=, / (streams, HTML or JSON), /<stream>/ (plays it), /metrics (Prometheus).\nExamples:\n  flux-storage serve --port 8080\n  ffmpeg -i http://127.0.0.1:8080/hls/cam1/index.m3u8 -c copy cam1.mp4',
    )
    .action(program.action(serve));
}
