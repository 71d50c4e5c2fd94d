// Options of the Redis backend (ioredis), as written under a pool's "backend" in the config.

import * as v from 'valibot';
import { positiveInteger } from '../../config/fields.js';

export const redisOptionsSchema = v.strictObject({
  type: v.literal('redis'),
  /** `redis://[:password@]host:port[/db]` or `rediss://` for TLS. Put the password in ${VAR}. */
  url: v.pipe(v.string('required'), v.regex(/^rediss?:\/\//, 'must start with redis:// or rediss://')),
  /** Prefix of every Redis key this pool writes, so several pools can share one server. */
  keyPrefix: v.optional(v.string(), 'flux:'),
  /** Objects expire this many seconds after they are written (a cache pool). Unset: never. */
  ttlSeconds: v.optional(positiveInteger()),
  /** Time to connect before a command fails. */
  connectTimeoutMs: v.optional(positiveInteger(), 2000),
  /** Time for one command before it fails (a server that accepts but never answers). */
  commandTimeoutMs: v.optional(positiveInteger(), 5000),
});

export type RedisOptions = v.InferOutput<typeof redisOptionsSchema>;
