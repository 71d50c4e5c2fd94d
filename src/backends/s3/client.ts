// Builds the S3Client for a pool from its options: credentials, checksums, the SDK's own retries
// and a keep-alive connection pool with connect and request timeouts.

import type { S3Client as S3ClientType, S3ClientConfig } from '@aws-sdk/client-s3';
import { requireCommonJs } from '../../commonjs.js';
import type { S3Options } from './options.js';

const { S3Client } = requireCommonJs<typeof import('@aws-sdk/client-s3')>('@aws-sdk/client-s3');
const { Agent: HttpAgent } = requireCommonJs<typeof import('node:http')>('node:http');
const { Agent: HttpsAgent } = requireCommonJs<typeof import('node:https')>('node:https');

export function createS3Client(options: S3Options): S3ClientType {
  // Agent instances (not agent options): the SDK then keeps its keep-alive pool even for
  // `Expect: 100-continue` uploads (bodies over 2 MB), instead of a fresh connection for each.
  const agentOptions = { keepAlive: true, maxSockets: options.maxSockets };
  const checksums = options.checksums === 'when_required' ? 'WHEN_REQUIRED' : 'WHEN_SUPPORTED';
  const config: S3ClientConfig = {
    region: options.region,
    forcePathStyle: options.forcePathStyle,
    requestChecksumCalculation: checksums,
    responseChecksumValidation: checksums,
    // The standard strategy retries throttling, 5xx, timeouts and resets with jittered backoff.
    retryMode: 'standard',
    maxAttempts: 1 + options.retries,
    requestHandler: {
      connectionTimeout: options.connectTimeoutMs,
      // Until the answer's headers; without throwOnRequestTimeout the SDK would only log a warning.
      requestTimeout: options.requestTimeoutMs,
      throwOnRequestTimeout: true,
      // A body (read or written) that stalls this long mid-way, which requestTimeout does not see.
      socketTimeout: options.requestTimeoutMs,
      httpAgent: new HttpAgent(agentOptions),
      httpsAgent: new HttpsAgent(agentOptions),
    },
  };
  if (options.endpoint !== undefined) config.endpoint = options.endpoint;
  if (options.accessKeyId !== undefined && options.secretAccessKey !== undefined) {
    config.credentials = {
      accessKeyId: options.accessKeyId,
      secretAccessKey: options.secretAccessKey,
      ...(options.sessionToken === undefined ? {} : { sessionToken: options.sessionToken }),
    };
  }
  return new S3Client(config);
}
