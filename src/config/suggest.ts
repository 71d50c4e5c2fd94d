// "Did you mean": the known field an unknown one resembles, found by walking the schema down the
// issue's path (valibot issues name the object, not the fields it takes).

import leven from 'leven';
import type * as v from 'valibot';

type AnySchema = v.GenericSchema & {
  wrapped?: AnySchema;
  item?: AnySchema;
  entries?: Record<string, AnySchema>;
  options?: AnySchema[];
  key?: string;
  literal?: unknown;
  getter?: (input: unknown) => AnySchema;
};

function unwrap(schema: AnySchema | undefined): AnySchema | undefined {
  let s = schema;
  while (s?.wrapped !== undefined) s = s.wrapped;
  return s;
}

/** The fields of the object schema a variant takes for `value` (by its discriminator), or of every option. */
function variantFields(schema: AnySchema, value: unknown): AnySchema | undefined {
  const options = schema.options ?? [];
  const tag = typeof value === 'object' && value !== null && schema.key !== undefined ? (value as Record<string, unknown>)[schema.key] : undefined;
  return options.find((option) => unwrap(option.entries?.[schema.key ?? ''])?.literal === tag) ?? undefined;
}

/** The field names the object at `path` (keys, as in an issue) accepts; `parent` is that object's value. */
export function knownFields(root: v.GenericSchema, path: readonly PropertyKey[], parent: unknown): string[] {
  let schema = unwrap(root as AnySchema);
  for (const key of path) {
    if (schema === undefined) return [];
    if (schema.type === 'array') schema = unwrap(schema.item);
    else if (schema.type === 'variant') schema = unwrap(variantFields(schema, undefined)?.entries?.[String(key)]);
    else schema = unwrap(schema.entries?.[String(key)]);
  }
  if (schema?.type === 'variant') schema = variantFields(schema, parent);
  // A schema chosen by the value (`layout`: a name or an object).
  if (schema?.type === 'lazy') schema = unwrap(schema.getter?.(parent));
  return Object.keys(schema?.entries ?? {});
}

/** The known name `unknown` most likely misspells: same letters in another case, or at most two edits (and a third of its length) away. */
export function suggestField(unknown: string, known: readonly string[]): string | undefined {
  const lower = unknown.toLowerCase();
  let best: { name: string; distance: number } | undefined;
  for (const name of known) {
    const distance = name.toLowerCase() === lower ? 0 : leven(lower, name.toLowerCase());
    if (distance > 2 || distance > Math.floor(Math.max(unknown.length, name.length) / 3)) continue;
    if (best === undefined || distance < best.distance) best = { name, distance };
  }
  return best?.name;
}
