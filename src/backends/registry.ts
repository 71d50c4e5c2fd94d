// Backend type name (as the config writes it) → options schema and factory. A backend's module, and
// with it its SDK, is imported only when a pool of that type is built.

import * as v from 'valibot';
import { localOptionsSchema } from './local/options.js';
import { ossOptionsSchema } from './oss/options.js';
import { redisOptionsSchema } from './redis/options.js';
import { s3OptionsSchema } from './s3/options.js';
import type { BackendContext, StorageBackend } from './types.js';

export type BackendType = 'local' | 's3' | 'oss' | 'redis';
export const BACKEND_TYPES: readonly BackendType[] = ['local', 's3', 'oss', 'redis'];

export const backendOptionsSchema = v.variant(
  'type',
  [localOptionsSchema, s3OptionsSchema, ossOptionsSchema, redisOptionsSchema],
  `unknown backend type: use one of ${BACKEND_TYPES.join(', ')}`,
);

export type BackendOptions = v.InferOutput<typeof backendOptionsSchema>;

export async function createBackend(options: BackendOptions, context: BackendContext): Promise<StorageBackend> {
  switch (options.type) {
    case 'local':
      return (await import('./local/index.js')).createLocalBackend(options, context);
    case 's3':
      return (await import('./s3/index.js')).createS3Backend(options, context);
    case 'oss':
      return (await import('./oss/index.js')).createOssBackend(options, context);
    case 'redis':
      return (await import('./redis/index.js')).createRedisBackend(options, context);
  }
}
