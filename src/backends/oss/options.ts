// Options of the Aliyun OSS backend (ali-oss), as written under a pool's "backend" in the config.

import { z } from 'zod';

export const ossOptionsSchema = z
  .object({
    type: z.literal('oss'),
    bucket: z.string({ error: 'required' }).min(3, 'must be at least 3 characters'),
    /** Such as oss-cn-hangzhou. */
    region: z.string().min(1).default('oss-cn-hangzhou'),
    /** `https://oss-cn-hangzhou.aliyuncs.com`, or an IP endpoint `http://127.0.0.1:PORT`. */
    endpoint: z.url({ error: 'must be a URL such as https://oss-cn-hangzhou.aliyuncs.com' }).optional(),
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
