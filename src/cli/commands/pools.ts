// pools status: each pool's health (from a live probe), latency and usage. Exit 1 when any pool is
// unhealthy, so a monitor can call it.

import type { StoragePool } from '../../pool/pool.js';
import type { CommandContext } from '../context.js';
import { EXIT } from '../exit-codes.js';
import { formatBytes } from '../output.js';
import type { Program } from '../program.js';

async function poolStatus(pool: StoragePool) {
  const probe = await pool.probe();
  const usage = await pool.usage();
  const withinLimit = usage.percent === null || usage.percent <= pool.config.maxUsagePercent;
  return {
    name: pool.name,
    type: pool.type,
    priority: pool.config.priority,
    health: pool.health,
    probe: { ok: probe.ok, latencyMs: Math.round(probe.latencyMs * 10) / 10, error: probe.error ?? null },
    usage: { usedBytes: usage.usedBytes, totalBytes: usage.totalBytes, percent: usage.percent === null ? null : Math.round(usage.percent * 10) / 10 },
    maxUsagePercent: pool.config.maxUsagePercent,
    readOnly: pool.config.readOnly,
    takesWrites: !pool.config.readOnly && pool.health !== 'unhealthy' && withinLimit,
  };
}

async function status(ctx: CommandContext, options: { pool?: string }): Promise<void> {
  const storage = await ctx.storage({ pool: options.pool });
  const progress = await ctx.out.progress('probing pools…');
  const pools = await Promise.all(storage.manager.pools.map(poolStatus)).finally(() => progress.stop());
  if (pools.some((p) => p.health === 'unhealthy')) ctx.fail(EXIT.failed);
  if (ctx.out.json) return ctx.out.printJson({ pools });
  const health = (h: string): string => ctx.out.paint(h === 'healthy' ? 'green' : h === 'degraded' ? 'yellow' : 'red', h);
  await ctx.out.table(
    ['POOL', 'TYPE', 'PRIO', 'HEALTH', 'LATENCY', 'USED', 'TOTAL', 'USE%', 'MAX%', 'WRITES'],
    pools.map((p) => [
      p.name,
      p.type,
      p.priority,
      health(p.health),
      `${p.probe.latencyMs} ms`,
      formatBytes(p.usage.usedBytes),
      formatBytes(p.usage.totalBytes),
      p.usage.percent === null ? '-' : `${p.usage.percent}%`,
      `${p.maxUsagePercent}%`,
      p.takesWrites ? 'yes' : 'no',
    ]),
    ['left', 'left', 'right', 'left', 'right', 'right', 'right', 'right', 'right'],
  );
  for (const p of pools) if (p.probe.error !== null) ctx.out.error(p.probe.error);
}

export function registerPools(program: Program): void {
  const pools = program.command.command('pools').description('pool health and usage');
  pools
    .command('status')
    .description('probe every pool (write, read back, delete a small object); exit 1 if any is unhealthy')
    .option('--pool <name>', 'probe this pool only')
    .addHelpText('after', '\nExamples:\n  flux-storage pools status\n  flux-storage pools status --json | jq ".pools[] | select(.health != \\"healthy\\")"')
    .action(program.action(status));
}
