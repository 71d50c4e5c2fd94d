// Options of the S3 backend (AWS S3 or any S3-compatible store), as written under a pool's "backend".

import { z } from 'zod';

export const s3OptionsSchema = z
  .object({
    type: z.literal('s3'),
    bucket: z.string({ error: 'required' }).min(3, 'must be at least 3 characters'),
    region: z.string().min(1).default('us-east-1'),
    /** For S3-compatible stores (MinIO, Ceph, R2, OSS's S3 API): `http(s)://host:port`. */
    endpoint: z.url({ error: 'must be a URL such as http://127.0.0.1:9000' }).optional(),
    /** Path-style URLs (`endpoint/bucket/key`), which most S3-compatible stores need. */
    forcePathStyle: z.boolean().default(false),
    /** Leave both unset to use the SDK's default chain (environment, profile, instance role). */
    accessKeyId: z.string().min(1).optional(),
    secretAccessKey: z.string().min(1).optional(),
    sessionToken: z.string().min(1).optional(),
    /**
     * 'when_required' stops the SDK from sending streamed bodies aws-chunked with checksums, which
     * many S3-compatible stores cannot read. AWS itself accepts both.
     */
    checksums: z.enum(['when_supported', 'when_required']).default('when_supported'),
    /** Attempts after the first one, by the SDK's own retry strategy (throttling, 5xx, network). */
    retries: z.number().int().min(0).max(10).default(2),
    /**
     * Time to open a TCP connection. Each of the 1 + retries attempts waits this long on an endpoint
     * that drops packets, so the default fails such an endpoint in about 3 s.
     */
    connectTimeoutMs: z.number().int().positive().default(1000),
    /** Time for one attempt to get its answer's headers, and the longest a body may stall mid-way. */
    requestTimeoutMs: z.number().int().positive().default(30000),
    /** Sockets kept open to the endpoint (keep-alive), enough for the highest concurrency used. */
    maxSockets: z.number().int().positive().default(64),
    /** A size limit for this pool; usage is then counted by listing (cached). */
    quotaBytes: z.number().int().positive().optional(),
  })
  .strict()
  .refine((o) => (o.accessKeyId === undefined) === (o.secretAccessKey === undefined), {
    message: 'accessKeyId and secretAccessKey go together: set both, or neither for the default chain',
    path: ['secretAccessKey'],
  });

export type S3Options = z.output<typeof s3OptionsSchema>;
