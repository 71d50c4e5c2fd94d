// Options of the local (filesystem) backend, as written under a pool's "backend" in the config.

import * as v from 'valibot';
import { requiredString, wholeNumber } from '../../config/fields.js';

export const localOptionsSchema = v.strictObject({
  type: v.literal('local'),
  /** Folder that holds the objects; relative paths resolve against the config file's folder. */
  root: requiredString(),
  /** fsync each object before it is renamed into place, so a power loss cannot leave it empty. */
  fsync: v.optional(v.boolean('must be true or false'), true),
  /** Files stat'ed or deleted at once. */
  concurrency: wholeNumber(1, 1024, 64),
});

export type LocalOptions = v.InferOutput<typeof localOptionsSchema>;
