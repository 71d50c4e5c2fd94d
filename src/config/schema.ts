// The config file's schema: pools (each with its backend's options) and the segment layout.
// Errors name the pool and field, as `pools[1].backend.root: required`.

import { z } from 'zod';
import { BACKEND_TYPES, backendOptionsSchema } from '../backends/registry.js';
import { DEFAULT_LAYOUT } from '../segments/layout.js';
import { POOL_DEFAULTS } from '../pool/pool.js';

export const poolSchema = z
  .object({
    name: z
      .string({ error: 'required' })
      .regex(/^[A-Za-z0-9._-]{1,64}$/, 'use letters, digits, ".", "_" and "-" (at most 64)'),
    priority: z
      .number({ error: 'must be a whole number, 1 for the preferred pool' })
      .int('must be a whole number, 1 for the preferred pool')
      .min(0, 'must be 0 or more (lower numbers are preferred)')
      .default(POOL_DEFAULTS.priority),
    maxUsagePercent: z
      .number({ error: 'must be a number from 0 to 100' })
      .min(0, 'must be from 0 to 100')
      .max(100, 'must be from 0 to 100')
      .default(POOL_DEFAULTS.maxUsagePercent),
    readOnly: z.boolean().default(POOL_DEFAULTS.readOnly),
    timeoutMs: z.number().int().positive().default(POOL_DEFAULTS.timeoutMs),
    retries: z.number().int().min(0).max(10).default(POOL_DEFAULTS.retries),
    backend: z.custom<unknown>((value) => typeof value === 'object' && value !== null, 'required').pipe(
      backendOptionsSchema,
    ),
  })
  .strict();

export const configSchema = z
  .object({
    $schema: z.string().optional(),
    layout: z
      .object({
        prefix: z.string().min(1).default(DEFAULT_LAYOUT.prefix),
        playlist: z.string().min(1).default(DEFAULT_LAYOUT.playlist),
      })
      .strict()
      .default(DEFAULT_LAYOUT),
    pools: z.array(poolSchema, { error: 'required: a list of pools' }).min(1, 'at least one pool is needed'),
  })
  .strict()
  .superRefine((config, ctx) => {
    const seen = new Map<string, number>();
    config.pools.forEach((pool, index) => {
      const first = seen.get(pool.name);
      if (first !== undefined) {
        ctx.addIssue({ code: 'custom', path: ['pools', index, 'name'], message: `duplicate pool name "${pool.name}" (also pools[${first}])` });
      } else seen.set(pool.name, index);
    });
  });

export type FluxConfig = z.output<typeof configSchema>;
export type PoolEntry = FluxConfig['pools'][number];

/** `pools[1].backend.root` from a zod path. */
export function formatPath(path: readonly PropertyKey[]): string {
  return path.reduce<string>((out, part) => (typeof part === 'number' ? `${out}[${part}]` : out === '' ? String(part) : `${out}.${String(part)}`), '');
}

/** The first problem of a failed parse, as one line naming the field. */
export function describeIssue(error: z.ZodError): string {
  const issue = error.issues[0];
  if (issue === undefined) return 'invalid';
  const where = formatPath(issue.path);
  let message = issue.message;
  if (issue.code === 'invalid_union' && where.endsWith('backend') || (where.endsWith('backend.type'))) {
    message = `unknown backend type: use one of ${BACKEND_TYPES.join(', ')}`;
  } else if (issue.code === 'unrecognized_keys') {
    message = `unknown field${issue.keys.length > 1 ? 's' : ''} ${issue.keys.map((k) => `"${k}"`).join(', ')}`;
  } else if (/received undefined/.test(message)) {
    message = 'required';
  }
  return where === '' ? message : `${where}: ${message}`;
}
