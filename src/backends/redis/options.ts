// Options of the Redis backend (ioredis), as written under a pool's "backend" in the config.

import * as v from 'valibot';
import { positiveInteger } from '../../config/fields.js';

const redisUrl = v.pipe(v.string('required'), v.regex(/^rediss?:\/\//, 'must start with redis:// or rediss://'));

export const redisOptionsSchema = v.pipe(
  v.strictObject({
    type: v.literal('redis'),
    /** `redis://[:password@]host:port[/db]` or `rediss://` for TLS. Put the password in ${VAR}. */
    url: v.optional(redisUrl),
    /**
     * A Redis Cluster instead of one server: some of its nodes (`redis://[:password@]host:port`; the
     * rest are found from them). Keys of one folder share a hash tag, so each folder lives on one node.
     */
    cluster: v.optional(v.pipe(v.array(redisUrl, 'must be a list of redis:// URLs'), v.minLength(1, 'must name at least one node'))),
    /** Prefix of every Redis key this pool writes, so several pools can share one server. */
    keyPrefix: v.optional(v.string(), 'flux:'),
    /** Objects expire this many seconds after they are written (a cache pool). Unset: never. */
    ttlSeconds: v.optional(positiveInteger()),
    /** Time to connect before a command fails. */
    connectTimeoutMs: v.optional(positiveInteger(), 2000),
    /** Time for one command before it fails (a server that accepts but never answers). */
    commandTimeoutMs: v.optional(positiveInteger(), 5000),
  }),
  v.forward(
    v.check((o) => (o.url === undefined) !== (o.cluster === undefined), 'set either url (one server) or cluster (a list of node URLs), not both'),
    ['url'],
  ),
  // A brace would change the hash tag that keeps each folder's keys on one cluster node.
  v.forward(
    v.check((o) => o.cluster === undefined || !/[{}]/.test(o.keyPrefix), 'must not contain { or } in a cluster pool'),
    ['keyPrefix'],
  ),
);

export type RedisOptions = v.InferOutput<typeof redisOptionsSchema>;
