// Options of the Aliyun OSS backend (ali-oss), as written under a pool's "backend" in the config.

import { z } from 'zod';

export const ossOptionsSchema = z
  .object({
    type: z.literal('oss'),
    /** ali-oss refuses any other name when the client is built: checked here, with the config. */
    bucket: z
      .string({ error: 'required' })
      .regex(/^[a-z0-9][a-z0-9-]{1,61}[a-z0-9]$/, 'must be 3-63 lowercase letters, digits or "-", not starting or ending with "-"'),
    /** Such as oss-cn-hangzhou. */
    region: z.string().min(1).default('oss-cn-hangzhou'),
    /**
     * `https://oss-cn-hangzhou.aliyuncs.com`, or an IP endpoint `http://127.0.0.1:PORT`. Without it
     * the endpoint is built from the region, over https.
     */
    endpoint: z
      .url({ protocol: /^https?$/, error: 'must be an http(s) URL such as https://oss-cn-hangzhou.aliyuncs.com' })
      .optional(),
    accessKeyId: z.string({ error: 'required' }).min(1, 'must not be empty'),
    accessKeySecret: z.string({ error: 'required' }).min(1, 'must not be empty'),
    stsToken: z.string().min(1).optional(),
    /** ali-oss's own default is no retry at all: this is deliberate. */
    retries: z.number().int().min(0).max(10).default(2),
    /** Time for one request (ali-oss's default is 60 s). */
    timeoutMs: z.number().int().positive().default(30000),
    /** A size limit for this pool; usage is then counted by listing (cached). */
    quotaBytes: z.number().int().positive().optional(),
  })
  .strict();

export type OssOptions = z.output<typeof ossOptionsSchema>;
