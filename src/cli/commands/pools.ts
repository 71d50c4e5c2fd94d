// pools status: each pool's health (from a live probe), latency, usage and whether it takes writes
// (policy.ts decides, as it does for writes). Exit 1 when any pool is unhealthy or over its
// maxUsagePercent, so a monitor sees a filling disk before writes fail over.

import { writeRefusal } from '../../pool/policy.js';
import type { StoragePool } from '../../pool/pool.js';
import type { CommandContext } from '../context.js';
import { EXIT } from '../exit-codes.js';
import { formatBytes } from '../output.js';
import type { Program } from '../program.js';

async function poolStatus(pool: StoragePool) {
  // Usage first: the probe's verdict is then the last word on the pool's health.
  const usage = await pool.usage();
  const probe = await pool.probe();
  const refusal = writeRefusal(await pool.facts(), 0);
  return {
    name: pool.name,
    type: pool.type,
    priority: pool.config.priority,
    health: pool.health,
    probe: { ok: probe.ok, mode: probe.mode, latencyMs: Math.round(probe.latencyMs * 10) / 10, error: probe.error ?? null },
    usage: { usedBytes: usage.usedBytes, totalBytes: usage.totalBytes, percent: usage.percent === null ? null : Math.round(usage.percent * 10) / 10 },
    maxUsagePercent: pool.config.maxUsagePercent,
    readOnly: pool.config.readOnly,
    takesWrites: refusal === undefined,
    noWrites: refusal === undefined ? null : { reason: refusal.reason, detail: refusal.detail },
  };
}

async function status(ctx: CommandContext, options: { pool?: string }): Promise<void> {
  const storage = await ctx.storage({ pool: options.pool });
  const progress = await ctx.out.progress('probing pools…', { lines: false });
  const pools = await Promise.all(storage.manager.pools.map(poolStatus)).finally(() => progress.stop());
  // A read-only pool takes no writes by its config: that alone is no alert.
  if (pools.some((p) => p.health === 'unhealthy' || p.noWrites?.reason === 'full')) ctx.fail(EXIT.failed);
  for (const p of pools) if (p.noWrites?.reason === 'full') ctx.out.warn(`pool "${p.name}" takes no writes: ${p.noWrites.detail}`);
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
      p.noWrites === null ? 'yes' : `no (${p.noWrites.reason})`,
    ]),
    ['left', 'left', 'right', 'left', 'right', 'right', 'right', 'right', 'right'],
  );
  for (const p of pools) if (p.probe.error !== null) ctx.out.error(p.probe.error);
}

export function registerPools(program: Program): void {
  const pools = program.command.command('pools').description('pool health and usage');
  pools
    .command('status')
    .description('probe every pool (write, read back, delete a small object; a read-only pool: stat one); exit 1 if any is unhealthy or full')
    .option('--pool <name>', 'probe this pool only')
    .addHelpText('after', '\nExamples:\n  flux-storage pools status\n  flux-storage pools status --json | jq ".pools[] | select(.health != \\"healthy\\")"')
    .action(program.action(status));
}
