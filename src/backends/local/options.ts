// Options of the local (filesystem) backend, as written under a pool's "backend" in the config.

import { z } from 'zod';

export const localOptionsSchema = z
  .object({
    type: z.literal('local'),
    /** Folder that holds the objects; relative paths resolve against the config file's folder. */
    root: z.string({ error: 'required' }).min(1, 'must not be empty'),
    /** fsync each object before it is renamed into place, so a power loss cannot leave it empty. */
    fsync: z.boolean().default(true),
    /** Files stat'ed or deleted at once. */
    concurrency: z.number().int().min(1).max(1024).default(64),
  })
  .strict();

export type LocalOptions = z.output<typeof localOptionsSchema>;
