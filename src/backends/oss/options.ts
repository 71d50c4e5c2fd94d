// Options of the Aliyun OSS backend (ali-oss), as written under a pool's "backend" in the config.

import * as v from 'valibot';
import { httpUrl, positiveInteger, requiredString } from '../../config/fields.js';

export const ossOptionsSchema = v.strictObject({
  type: v.literal('oss'),
  /** ali-oss refuses any other name when the client is built: checked here, with the config. */
  bucket: v.pipe(
    v.string('required'),
    v.regex(/^[a-z0-9][a-z0-9-]{1,61}[a-z0-9]$/, 'must be 3-63 lowercase letters, digits or "-", not starting or ending with "-"'),
  ),
  /** Such as oss-cn-hangzhou. */
  region: v.optional(requiredString(), 'oss-cn-hangzhou'),
  /**
   * `https://oss-cn-hangzhou.aliyuncs.com`, or an IP endpoint `http://127.0.0.1:PORT`. Without it
   * the endpoint is built from the region, over https.
   */
  endpoint: v.optional(httpUrl('must be an http(s) URL such as https://oss-cn-hangzhou.aliyuncs.com')),
  accessKeyId: requiredString(),
  accessKeySecret: requiredString(),
  stsToken: v.optional(requiredString()),
  /** Time for one request (ali-oss's default is 60 s). */
  timeoutMs: v.optional(positiveInteger(), 30000),
  /** A size limit for this pool; usage is then counted by listing (cached). */
  quotaBytes: v.optional(positiveInteger()),
});

export type OssOptions = v.InferOutput<typeof ossOptionsSchema>;
