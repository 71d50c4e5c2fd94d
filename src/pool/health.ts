// Health and metrics of one pool, from the outcomes of its recent operations and probes.

import { isStorageError } from '../errors.js';

export type PoolHealth = 'healthy' | 'degraded' | 'unhealthy';

export interface ProbeResult {
  ok: boolean;
  latencyMs: number;
  at: Date;
  error?: Error;
}

export interface PoolMetrics {
  operations: number;
  errors: number;
  bytesWritten: number;
  bytesRead: number;
  latencyMs: { average: number | null; p95: number | null };
}

const WINDOW = 20;
/** This many failures in a row, with no success since, make a pool unhealthy. */
const UNHEALTHY_AFTER = 3;

/** Whether an error says something about the pool (not about the caller or the key). */
export function countsAgainstPool(error: unknown): boolean {
  if (!isStorageError(error)) return true;
  return !['NotFound', 'InvalidKey', 'InvalidArgument'].includes(error.code);
}

export class HealthTracker {
  private readonly recent: { ok: boolean; latencyMs: number }[] = [];
  private failuresInARow = 0;
  private lastProbe: ProbeResult | undefined;
  private readonly totals = { operations: 0, errors: 0, bytesWritten: 0, bytesRead: 0 };

  record(ok: boolean, latencyMs: number, bytes: { written?: number; read?: number } = {}): void {
    this.totals.operations++;
    if (!ok) this.totals.errors++;
    this.totals.bytesWritten += bytes.written ?? 0;
    this.totals.bytesRead += bytes.read ?? 0;
    this.failuresInARow = ok ? 0 : this.failuresInARow + 1;
    this.recent.push({ ok, latencyMs });
    if (this.recent.length > WINDOW) this.recent.shift();
  }

  recordProbe(result: ProbeResult): void {
    this.lastProbe = result;
    this.record(result.ok, result.latencyMs);
  }

  get probe(): ProbeResult | undefined {
    return this.lastProbe;
  }

  /**
   * unhealthy: the last probe failed, or the last few operations all failed; degraded: some recent
   * operation failed; healthy otherwise (a pool nothing has been tried on yet counts as healthy).
   */
  get health(): PoolHealth {
    if (this.lastProbe?.ok === false || this.failuresInARow >= UNHEALTHY_AFTER) return 'unhealthy';
    return this.recent.some((outcome) => !outcome.ok) ? 'degraded' : 'healthy';
  }

  metrics(): PoolMetrics {
    const latencies = this.recent.map((outcome) => outcome.latencyMs).sort((a, b) => a - b);
    const average = latencies.length === 0 ? null : latencies.reduce((a, b) => a + b, 0) / latencies.length;
    const p95 = latencies.length === 0 ? null : (latencies[Math.min(latencies.length - 1, Math.floor(latencies.length * 0.95))] ?? null);
    return { ...this.totals, latencyMs: { average, p95 } };
  }
}
