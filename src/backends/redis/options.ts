// Options of the Redis backend (ioredis), as written under a pool's "backend" in the config.

import { z } from 'zod';

export const redisOptionsSchema = z
  .object({
    type: z.literal('redis'),
    /** `redis://[:password@]host:port[/db]` or `rediss://` for TLS. Put the password in ${VAR}. */
    url: z
      .string({ error: 'required' })
      .regex(/^rediss?:\/\//, 'must start with redis:// or rediss://'),
    /** Prefix of every Redis key this pool writes, so several pools can share one server. */
    keyPrefix: z.string().default('flux:'),
    /** Objects expire this many seconds after they are written (a cache pool). Unset: never. */
    ttlSeconds: z.number().int().positive().optional(),
    /** Time to connect before a command fails. */
    connectTimeoutMs: z.number().int().positive().default(2000),
    /** Time for one command before it fails (a server that accepts but never answers). */
    commandTimeoutMs: z.number().int().positive().default(5000),
  })
  .strict();

export type RedisOptions = z.output<typeof redisOptionsSchema>;
