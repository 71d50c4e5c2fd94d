// Options of the local (filesystem) backend, as written under a pool's "backend" in the config.

import path from 'node:path';
import * as v from 'valibot';
import { requiredString, wholeNumber } from '../../config/fields.js';

/** A resolved root that is a filesystem's top (`/`): its objects would be every file of the host. */
export function isFilesystemRoot(resolved: string): boolean {
  return path.parse(resolved).root === resolved;
}

export const localOptionsSchema = v.strictObject({
  type: v.literal('local'),
  /** Folder that holds the objects; relative paths resolve against the config file's folder. */
  root: v.pipe(
    requiredString(),
    v.check((root) => !(path.isAbsolute(root) && isFilesystemRoot(path.resolve(root))), 'must not be the filesystem root "/": name a folder for the segments'),
  ),
  /**
   * Create the root when it does not exist. Off by default: a mistyped path or an unmounted disk
   * is reported (the pool is unhealthy, the path named) instead of quietly filling another disk.
   */
  createRoot: v.optional(v.boolean('must be true or false'), false),
  /** fsync each object before it is renamed into place, so a power loss cannot leave it empty. */
  fsync: v.optional(v.boolean('must be true or false'), true),
  /** Files stat'ed or deleted at once. */
  concurrency: wholeNumber(1, 1024, 64),
});

/** The validated options; createRoot may be left out by code that builds a backend directly (false). */
export type LocalOptions = Omit<v.InferOutput<typeof localOptionsSchema>, 'createRoot'> & { createRoot?: boolean | undefined };
