// Builds the S3Client for a pool from its options: credentials, checksums, the SDK's own retries
// and a keep-alive connection pool with connect and request timeouts that fit the pool's deadline.

import type { S3Client as S3ClientType, S3ClientConfig } from '@aws-sdk/client-s3';
import { requireCommonJs } from '../../commonjs.js';
import type { S3Options } from './options.js';

const { S3Client } = requireCommonJs<typeof import('@aws-sdk/client-s3')>('@aws-sdk/client-s3');
const { Agent: HttpAgent } = requireCommonJs<typeof import('node:http')>('node:http');
const { Agent: HttpsAgent } = requireCommonJs<typeof import('node:https')>('node:https');

/**
 * The SDK's timeouts of one attempt, capped at the pool's deadline (`poolTimeoutMs`, of one pool
 * attempt), so the SDK never waits longer than the pool. The SDK's retries run inside that same
 * deadline: a retry after a fast failure (refused, reset, 5xx, throttled) fits in it, one after an
 * attempt that hung does not. Each attempt keeps the whole deadline's patience (a 1,000-key
 * DeleteObjects can take seconds), rather than a share that would time out a slow but live server.
 */
export function sdkTimeouts(options: S3Options, poolTimeoutMs: number | undefined): { connectionTimeout: number; requestTimeout: number } {
  const cap = poolTimeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS;
  return {
    connectionTimeout: Math.min(options.connectTimeoutMs, cap),
    requestTimeout: Math.min(options.requestTimeoutMs ?? cap, cap),
  };
}

/** The request timeout of a client built outside a pool (no pool deadline to fit in). */
const DEFAULT_REQUEST_TIMEOUT_MS = 15_000;

export function createS3Client(options: S3Options, poolTimeoutMs?: number): S3ClientType {
  const { connectionTimeout, requestTimeout } = sdkTimeouts(options, poolTimeoutMs);
  // Agent instances (not agent options): the SDK then keeps its keep-alive pool even for
  // `Expect: 100-continue` uploads (bodies over 2 MB), instead of a fresh connection for each.
  const agentOptions = { keepAlive: true, maxSockets: options.maxSockets };
  const checksums = options.checksums === 'when_required' ? 'WHEN_REQUIRED' : 'WHEN_SUPPORTED';
  const config: S3ClientConfig = {
    region: options.region,
    forcePathStyle: options.forcePathStyle,
    requestChecksumCalculation: checksums,
    responseChecksumValidation: checksums,
    // The standard strategy retries throttling, 5xx, timeouts and resets with jittered backoff, all
    // inside one deadline of the pool (see sdkTimeouts); with retries 0 the pool's retry layer does.
    retryMode: 'standard',
    maxAttempts: 1 + options.retries,
    requestHandler: {
      connectionTimeout,
      // Until the answer's headers; without throwOnRequestTimeout the SDK would only log a warning.
      requestTimeout,
      throwOnRequestTimeout: true,
      // A body (read or written) that stalls this long mid-way, which requestTimeout does not see.
      socketTimeout: requestTimeout,
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
