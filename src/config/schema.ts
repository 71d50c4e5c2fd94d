// The config file's schema: pools (each with its backend's options) and the segment layout.
// Errors name the pool and field, as `pools[1].backend.root: required`.

import * as v from 'valibot';
import { backendOptionsSchema } from '../backends/registry.js';
import { DEFAULT_LAYOUT, SegmentLayout } from '../segments/layout.js';
import { POOL_DEFAULTS } from '../pool/pool.js';
import { RESERVED_PREFIX } from '../keys.js';
import { positiveInteger, requiredString, wholeNumber } from './fields.js';
import { knownFields, suggestField } from './suggest.js';

/** Largest input `put` reads (a file, or stdin); larger ones are refused before anything is stored. */
export const DEFAULT_MAX_SEGMENT_BYTES = 1024 ** 3;

export const poolSchema = v.strictObject({
  name: v.pipe(v.string('required'), v.regex(/^[A-Za-z0-9._-]{1,64}$/, 'use letters, digits, ".", "_" and "-" (at most 64)')),
  priority: v.optional(
    v.pipe(
      v.number('must be a whole number, 1 for the preferred pool'),
      v.integer('must be a whole number, 1 for the preferred pool'),
      v.minValue(0, 'must be 0 or more (lower numbers are preferred)'),
    ),
    POOL_DEFAULTS.priority,
  ),
  maxUsagePercent: v.optional(
    v.pipe(v.number('must be a number from 0 to 100'), v.minValue(0, 'must be from 0 to 100'), v.maxValue(100, 'must be from 0 to 100')),
    POOL_DEFAULTS.maxUsagePercent,
  ),
  readOnly: v.optional(v.boolean('must be true or false'), POOL_DEFAULTS.readOnly),
  timeoutMs: v.optional(positiveInteger(), POOL_DEFAULTS.timeoutMs),
  retries: wholeNumber(0, 10, POOL_DEFAULTS.retries),
  backend: backendOptionsSchema,
});

const layoutPrefix = v.pipe(
  requiredString(),
  v.check((prefix) => `${prefix}/` !== RESERVED_PREFIX && !prefix.startsWith(RESERVED_PREFIX), `collides with flux-storage's own "${RESERVED_PREFIX.slice(0, -1)}" folder: choose another prefix`),
);

/**
 * `layout`: a preset name (`"nginx-rtmp"`), or an object with a preset and/or templates under a
 * prefix (`{ "preset": "srs", "prefix": "live" }`, `{ "segment": "{stream}-{seq}.ts", "playlist":
 * "{stream}.m3u8" }`), or the first configs' `{ "prefix", "playlist" }`. What the names and
 * templates mean (unknown preset, a template without {stream}, an ambiguous pair) is checked by
 * SegmentLayout once the shape is right (parseConfig).
 */
const layoutObject = v.strictObject(
  {
    preset: v.optional(requiredString()),
    prefix: v.optional(v.union([v.literal(''), layoutPrefix], 'must be a path such as "hls", or "" for keys at the top of the store')),
    segment: v.optional(requiredString()),
    playlist: v.optional(requiredString()),
    init: v.optional(requiredString()),
    master: v.optional(requiredString()),
  },
  'must be a preset name (such as "nginx-rtmp") or an object such as { "preset": "srs", "prefix": "live" }',
);

// By the input's type, so that an object's problems (an unknown field) are named as such.
export const layoutSchema = v.lazy((input: unknown) => (typeof input === 'string' ? requiredString("must name a preset (see the README's presets table)") : layoutObject));

export const configSchema = v.pipe(
  v.strictObject({
    $schema: v.optional(v.string()),
    layout: v.optional(layoutSchema, DEFAULT_LAYOUT),
    /** put refuses a file or stdin larger than this (it is never read past it), before storing anything. */
    maxSegmentBytes: v.optional(positiveInteger(), DEFAULT_MAX_SEGMENT_BYTES),
    pools: v.pipe(v.array(poolSchema, 'required: a list of pools'), v.minLength(1, 'at least one pool is needed')),
  }),
  v.rawCheck(({ dataset, addIssue }) => {
    if (!dataset.typed) return;
    const seen = new Map<string, number>();
    dataset.value.pools.forEach((pool, index) => {
      const first = seen.get(pool.name);
      if (first === undefined) return void seen.set(pool.name, index);
      addIssue({
        message: `duplicate pool name "${pool.name}" (also pools[${first}])`,
        path: [
          { type: 'object', origin: 'value', input: dataset.value, key: 'pools', value: dataset.value.pools },
          { type: 'array', origin: 'value', input: dataset.value.pools, key: index, value: pool },
          { type: 'object', origin: 'value', input: pool, key: 'name', value: pool.name },
        ],
      });
    });
  }),
);

export type FluxConfig = v.InferOutput<typeof configSchema>;
export type PoolEntry = FluxConfig['pools'][number];

const layouts = new WeakMap<object, SegmentLayout>();

/**
 * The SegmentLayout a validated config names, compiled once per config (the ambiguity check tries
 * every template on sample names). Throws ConfigInvalid naming the field for bad names or templates.
 */
export function layoutOf(config: FluxConfig): SegmentLayout {
  let layout = layouts.get(config);
  if (layout === undefined) {
    layout = new SegmentLayout(config.layout);
    layouts.set(config, layout);
  }
  return layout;
}

/** `pools[1].backend.root` from a path of keys. */
export function formatPath(path: readonly PropertyKey[]): string {
  return path.reduce<string>((out, part) => (typeof part === 'number' ? `${out}[${part}]` : out === '' ? String(part) : `${out}.${String(part)}`), '');
}

/** The first problem of a failed parse, as one line naming the field. */
export function describeIssue(issues: readonly v.BaseIssue<unknown>[]): string {
  const issue = issues[0];
  if (issue === undefined) return 'invalid';
  const path = (issue.path ?? []).map((item) => item.key as PropertyKey);
  let message = issue.message;
  if (issue.expected === 'never') {
    // `pools[0].maxUsagePercnt: unknown field; did you mean maxUsagePercent?`
    const unknown = String(path.at(-1));
    const suggestion = suggestField(unknown, knownFields(configSchema, path.slice(0, -1), issue.path?.at(-1)?.input));
    message = suggestion === undefined ? 'unknown field' : `unknown field; did you mean ${suggestion}?`;
  } else if (issue.received === 'undefined' && issue.type !== 'variant') {
    message = 'required';
  } else if (issue.type === 'variant' && issue.received === 'undefined' && path.at(-1) !== 'type') {
    message = 'required';
  }
  const where = formatPath(path);
  return where === '' ? message : `${where}: ${message}`;
}
