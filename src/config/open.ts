// From a validated config to working objects: backends → pools → manager → SegmentStorage.

import { createBackend } from '../backends/registry.js';
import { StorageManager } from '../pool/manager.js';
import { StoragePool } from '../pool/pool.js';
import { SegmentStorage } from '../segments/segment-storage.js';
import { StorageError } from '../errors.js';
import { layoutOf, type FluxConfig } from './schema.js';

export interface OpenOptions {
  /** Folder that relative local roots resolve against. */
  baseDir?: string;
  /** Build only these pools (so a command on a local pool never loads a cloud SDK). */
  only?: readonly string[];
  /**
   * Every backend call of the storage is aborted when this fires (the CLI's Ctrl-C, SIGTERM,
   * SIGHUP): calls in flight reject with Interrupted, and none is retried.
   */
  signal?: AbortSignal | undefined;
}

export async function openStorage(config: FluxConfig, options: OpenOptions = {}): Promise<SegmentStorage> {
  const baseDir = options.baseDir ?? process.cwd();
  const wanted = options.only === undefined ? config.pools : config.pools.filter((pool) => options.only!.includes(pool.name));
  for (const name of options.only ?? []) {
    if (!config.pools.some((pool) => pool.name === name)) {
      throw new StorageError('InvalidArgument', `unknown pool "${name}": the configured pools are ${config.pools.map((p) => p.name).join(', ')}`);
    }
  }
  const pools = await Promise.all(
    wanted.map(
      async ({ backend, ...poolConfig }) =>
        new StoragePool(poolConfig, await createBackend(backend, { poolName: poolConfig.name, baseDir, timeoutMs: poolConfig.timeoutMs }), {
          signal: options.signal,
        }),
    ),
  );
  return new SegmentStorage(new StorageManager(pools), layoutOf(config));
}
