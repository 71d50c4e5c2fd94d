// config show | config check [--connect]: the effective config (which file, defaults filled in,
// secrets masked), and its validation, with --connect a read-only reach of every pool.

import path from 'node:path';
import { Redactor } from '../../config/redact.js';
import { layoutOf, type FluxConfig } from '../../config/schema.js';
import type { StoragePool } from '../../pool/pool.js';
import { toStorageError } from '../../errors.js';
import type { CommandContext } from '../context.js';
import { EXIT } from '../exit-codes.js';
import type { Program } from '../program.js';

/** Where the config came from, in words. */
function describeSource(file: string | null, cwd: string): string {
  return file === null ? 'no config file found: the embedded default is in use' : `config file: ${path.relative(cwd, file) || file} (${file})`;
}

/** The layout in effect: the preset it came from (if any), the prefix and every template. */
function layoutInEffect(config: FluxConfig) {
  const { preset, prefix, templates } = layoutOf(config);
  return { preset: preset ?? null, prefix, ...templates };
}

async function show(ctx: CommandContext): Promise<void> {
  const { config, file, baseDir } = await ctx.config();
  const masked = Redactor.mask(config);
  const layout = layoutInEffect(config);
  if (ctx.out.json) return ctx.out.printJson({ file, embeddedDefault: file === null, baseDir, layout, config: masked });
  ctx.out.print(describeSource(file, ctx.io.cwd));
  ctx.out.print(`relative local roots resolve against: ${baseDir}`);
  ctx.out.print(`layout: ${layout.preset === null ? 'templates of its own' : `preset ${layout.preset}`}, prefix ${layout.prefix === '' ? '(none: keys at the top of the store)' : JSON.stringify(layout.prefix)}`);
  for (const kind of ['segment', 'playlist', 'init', 'master'] as const) {
    if (layout[kind] !== undefined) ctx.out.print(`  ${`${kind}:`.padEnd(10)}${layout.prefix === '' ? '' : `${layout.prefix}/`}${layout[kind]}`);
  }
  ctx.out.print(JSON.stringify(masked, null, 2));
}

/** Lists at most one object under the layout's folder: a read that proves the pool answers, and writes nothing. */
async function reach(pool: StoragePool, prefix: string) {
  const started = performance.now();
  try {
    for await (const entry of pool.list(prefix)) {
      void entry;
      break;
    }
    return { name: pool.name, type: pool.type, ok: true, latencyMs: Math.round((performance.now() - started) * 10) / 10, error: null };
  } catch (error) {
    return { name: pool.name, type: pool.type, ok: false, latencyMs: Math.round((performance.now() - started) * 10) / 10, error: pool.named(toStorageError(error), undefined) };
  }
}

async function check(ctx: CommandContext, options: { connect?: boolean }): Promise<void> {
  const { config, file } = await ctx.config();
  const source = describeSource(file, ctx.io.cwd);
  if (options.connect !== true) {
    if (ctx.out.json) return ctx.out.printJson({ file, valid: true, pools: config.pools.map((p) => p.name) });
    if (!ctx.out.quiet) ctx.out.print(`${source}\nvalid: ${config.pools.length} pool${config.pools.length === 1 ? '' : 's'} (${config.pools.map((p) => p.name).join(', ')})`);
    return;
  }
  const storage = await ctx.storage();
  const progress = await ctx.out.progress('reaching pools…', { lines: false });
  const pools = await Promise.all(storage.manager.pools.map((pool) => reach(pool, storage.layout.root))).finally(() => progress.stop());
  if (pools.some((p) => !p.ok)) ctx.fail(EXIT.failed);
  if (ctx.out.json) return ctx.out.printJson({ file, valid: true, pools });
  ctx.out.print(source);
  await ctx.out.table(
    ['POOL', 'TYPE', 'REACHED', 'TIME'],
    pools.map((p) => [p.name, p.type, p.ok ? ctx.out.paint('green', 'yes') : `${ctx.out.paint('red', 'no')}: ${p.error?.detail ?? ''}`, `${p.latencyMs} ms`]),
    ['left', 'left', 'left', 'right'],
  );
}

export function registerConfig(program: Program): void {
  const config = program.command.command('config').description('show or check the config');
  config
    .command('show')
    .description('print the effective config: which file was found (or the embedded default), defaults filled in, secrets masked')
    .addHelpText('after', '\nExamples:\n  flux-storage config show\n  flux-storage -c /etc/flux/storage.config.json config show --json')
    .action(program.action(show));
  config
    .command('check')
    .description('validate the config; with --connect, reach every pool read-only (one listing page, nothing written)')
    .option('--connect', 'reach each pool with one read-only listing request', false)
    .addHelpText('after', '\nExit codes: 0 valid (and, with --connect, every pool reached), 1 a pool could not be reached, 2 the config is invalid.\n\nExamples:\n  flux-storage config check\n  flux-storage config check --connect')
    .action(program.action(check));
}
