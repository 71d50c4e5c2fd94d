// The origin's Prometheus metrics (text exposition format 0.0.4): what it served, and per pool the
// objects and bytes it holds (from a listing refreshed in the background, never per scrape), its
// health and its probe latency.

import type { StoragePool } from '../pool/pool.js';

/** Labels values escaped as the exposition format wants. */
const label = (value: string): string => value.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');

export interface PoolCensus {
  objects: number;
  bytes: number;
  /** When it was counted. */
  at: Date;
}

export class OriginMetrics {
  private readonly served = new Map<number, number>();
  private bytesServed = 0;
  private readonly census = new Map<string, PoolCensus>();

  countResponse(status: number, bytes: number): void {
    this.served.set(status, (this.served.get(status) ?? 0) + 1);
    this.bytesServed += bytes;
  }

  setCensus(pool: string, census: PoolCensus): void {
    this.census.set(pool, census);
  }

  render(pools: readonly StoragePool[]): string {
    const lines: string[] = [];
    const metric = (name: string, type: 'gauge' | 'counter', help: string, samples: [string, number][]): void => {
      lines.push(`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`);
      for (const [labels, value] of samples) lines.push(`${name}${labels} ${Number.isFinite(value) ? value : 'NaN'}`);
    };
    const byPool = (value: (pool: StoragePool) => number | undefined): [string, number][] =>
      pools.flatMap((pool) => {
        const v = value(pool);
        return v === undefined ? [] : [[`{pool="${label(pool.name)}"}`, v] as [string, number]];
      });
    metric('flux_storage_pool_objects', 'gauge', 'Objects under the layout in each pool, from the last background listing.', byPool((p) => this.census.get(p.name)?.objects));
    metric('flux_storage_pool_bytes', 'gauge', 'Bytes under the layout in each pool, from the last background listing.', byPool((p) => this.census.get(p.name)?.bytes));
    metric('flux_storage_pool_up', 'gauge', 'Pool health: 1 healthy, 0.5 degraded, 0 unhealthy.', byPool((p) => ({ healthy: 1, degraded: 0.5, unhealthy: 0 })[p.health]));
    metric('flux_storage_pool_probe_latency_seconds', 'gauge', 'Latency of the last probe of each pool.', byPool((p) => (p.lastProbe === undefined ? undefined : p.lastProbe.latencyMs / 1000)));
    metric(
      'flux_storage_http_responses_total',
      'counter',
      'Responses served, by HTTP status.',
      [...this.served].sort(([a], [b]) => a - b).map(([status, n]) => [`{status="${status}"}`, n]),
    );
    metric('flux_storage_http_response_bytes_total', 'counter', 'Body bytes served.', [['', this.bytesServed]]);
    return `${lines.join('\n')}\n`;
  }
}
