// Metrics of one pool: operation and error counts, bytes moved, recent latencies. Health itself
// (the circuit breaker, its back-off and recovery) is decided in policy.ts.

export { countsAgainstPool, type PoolHealth } from './policy.js';

export interface ProbeResult {
  ok: boolean;
  latencyMs: number;
  at: Date;
  /** What the probe did: write, read back and delete an object; or, on a read-only pool, stat one. */
  mode: 'read-write' | 'read-only';
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

export class MetricsTracker {
  private readonly latencies: number[] = [];
  private readonly totals = { operations: 0, errors: 0, bytesWritten: 0, bytesRead: 0 };

  record(ok: boolean, latencyMs: number, bytes: { written?: number; read?: number } = {}): void {
    this.totals.operations++;
    if (!ok) this.totals.errors++;
    this.totals.bytesWritten += bytes.written ?? 0;
    this.totals.bytesRead += bytes.read ?? 0;
    this.latencies.push(latencyMs);
    if (this.latencies.length > WINDOW) this.latencies.shift();
  }

  metrics(): PoolMetrics {
    const latencies = [...this.latencies].sort((a, b) => a - b);
    const average = latencies.length === 0 ? null : latencies.reduce((a, b) => a + b, 0) / latencies.length;
    const p95 = latencies.length === 0 ? null : (latencies[Math.min(latencies.length - 1, Math.floor(latencies.length * 0.95))] ?? null);
    return { ...this.totals, latencyMs: { average, p95 } };
  }
}
