// Options of the S3 backend (AWS S3 or any S3-compatible store), as written under a pool's "backend".

import * as v from 'valibot';
import { httpUrl, positiveInteger, requiredString, wholeNumber } from '../../config/fields.js';

export const s3OptionsSchema = v.pipe(
  v.strictObject({
    type: v.literal('s3'),
    bucket: v.pipe(v.string('required'), v.minLength(3, 'must be at least 3 characters')),
    region: v.optional(requiredString(), 'us-east-1'),
    /** For S3-compatible stores (MinIO, Ceph, R2, OSS's S3 API): `http(s)://host:port`. */
    endpoint: v.optional(httpUrl('must be a URL such as http://127.0.0.1:9000')),
    /** Path-style URLs (`endpoint/bucket/key`), which most S3-compatible stores need. */
    forcePathStyle: v.optional(v.boolean('must be true or false'), false),
    /** Leave both unset to use the SDK's default chain (environment, profile, instance role). */
    accessKeyId: v.optional(requiredString()),
    secretAccessKey: v.optional(requiredString()),
    sessionToken: v.optional(requiredString()),
    /**
     * 'when_required' stops the SDK from sending streamed bodies aws-chunked with checksums, which
     * many S3-compatible stores cannot read. AWS itself accepts both.
     */
    checksums: v.optional(v.picklist(['when_supported', 'when_required'], 'must be "when_supported" or "when_required"'), 'when_supported'),
    /**
     * Attempts after the first one by the SDK's own retry strategy (throttling, 5xx, network), all
     * inside ONE attempt of the pool (its timeoutMs). 0 leaves retrying to the pool's `retries`.
     */
    retries: wholeNumber(0, 10, 2),
    /** Time to open a TCP connection, per SDK attempt (at most the pool's timeoutMs). */
    connectTimeoutMs: v.optional(positiveInteger(), 1000),
    /**
     * Time for one SDK attempt to get its answer's headers, and the longest a body may stall
     * mid-way. Default, and at most: the pool's timeoutMs.
     */
    requestTimeoutMs: v.optional(positiveInteger()),
    /** Sockets kept open to the endpoint (keep-alive), enough for the highest concurrency used. */
    maxSockets: v.optional(positiveInteger(), 64),
    /** A size limit for this pool; usage is then counted by listing (cached). */
    quotaBytes: v.optional(positiveInteger()),
  }),
  v.forward(
    v.check(
      (o) => (o.accessKeyId === undefined) === (o.secretAccessKey === undefined),
      'accessKeyId and secretAccessKey go together: set both, or neither for the default chain',
    ),
    ['secretAccessKey'],
  ),
);

export type S3Options = v.InferOutput<typeof s3OptionsSchema>;
