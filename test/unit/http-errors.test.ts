// One condition, one code, whichever backend reports it: the S3 and OSS mappers share the HTTP
// classifier (with the AWS SDK's own rules), and local and Redis agree with it where they can.

import { describe, expect, it } from 'vitest';
import { mapLocalError } from '../../src/backends/local/errors.js';
import { mapOssError } from '../../src/backends/oss/errors.js';
import { mapRedisError } from '../../src/backends/redis/errors.js';
import { mapS3Error } from '../../src/backends/s3/errors.js';
import { classifyHttpError, truncatedListing } from '../../src/backends/http-errors.js';

/** An error as the AWS SDK throws it for a service answer. */
function s3Error(code: string, status: number): Error {
  return Object.assign(new Error(`${code} message`), { name: code, Code: code, $metadata: { httpStatusCode: status } });
}

/** An error as ali-oss throws it for a service answer. */
function ossError(code: string, status: number): Error {
  return Object.assign(new Error(`${code} message`), { name: `${code}Error`, code, status });
}

const s3 = (error: unknown) => mapS3Error(error, { bucket: 'b', secrets: [] });
const oss = (error: unknown) => mapOssError(error, { action: 'put', key: 'k', secrets: [] });

describe('S3 and OSS map the same service answer to the same code', () => {
  const cases: [string, number, string, boolean][] = [
    ['NoSuchKey', 404, 'NotFound', false],
    ['AccessDenied', 403, 'PermissionDenied', false],
    ['SignatureDoesNotMatch', 403, 'PermissionDenied', false],
    ['EntityTooLarge', 400, 'InvalidArgument', false],
    ['BadDigest', 400, 'Corrupt', false],
    ['InvalidDigest', 400, 'Corrupt', false],
    ['SlowDown', 503, 'RateLimited', true],
    ['InternalError', 500, 'Unavailable', true],
    ['QuotaExceeded', 403, 'QuotaExceeded', false],
    ['InvalidObjectName', 400, 'InvalidKey', false],
  ];
  for (const [code, status, expected, retryable] of cases) {
    it(`${code} (HTTP ${status}) is ${expected}`, () => {
      expect([s3(s3Error(code, status)).code, s3(s3Error(code, status)).retryable]).toEqual([expected, retryable]);
      expect([oss(ossError(code, status)).code, oss(ossError(code, status)).retryable]).toEqual([expected, retryable]);
    });
  }

  it('a code neither table knows falls to the SDK rules and the status: 429 throttled, 502 unavailable, 413 too large', () => {
    expect(s3(s3Error('Whatever', 429)).code).toBe('RateLimited');
    expect(oss(ossError('Whatever', 429)).code).toBe('RateLimited');
    expect(s3(s3Error('Whatever', 502)).code).toBe('Unavailable');
    expect(oss(ossError('Whatever', 502)).code).toBe('Unavailable');
    expect(s3(s3Error('Whatever', 413)).code).toBe('InvalidArgument');
    expect(oss(ossError('Whatever', 413)).code).toBe('InvalidArgument');
    expect(s3(s3Error('Whatever', 400)).code).toBe('Internal');
  });

  it('the SDK list of throttling names is used (ThrottlingException has no entry of ours)', () => {
    expect(classifyHttpError({ codes: ['ThrottlingException'], status: 400, sdkShaped: { name: 'ThrottlingException', $metadata: { httpStatusCode: 400 } } })).toBe('RateLimited');
    expect(classifyHttpError({ codes: ['RequestThrottled'], status: 400, sdkShaped: { name: 'RequestThrottled', $metadata: { httpStatusCode: 400 } } })).toBe('RateLimited');
  });

  it('a reset connection is Unavailable though the SDK names it TimeoutError; a real timeout is Timeout', () => {
    const reset = Object.assign(new Error('socket hang up'), { name: 'TimeoutError', code: 'ECONNRESET', $metadata: {} });
    expect(s3(reset).code).toBe('Unavailable');
    expect(s3(Object.assign(new Error('timed out'), { name: 'TimeoutError', $metadata: {} })).code).toBe('Timeout');
    expect(oss(Object.assign(new Error('timeout'), { name: 'ResponseTimeoutError', status: -2 })).code).toBe('Timeout');
    expect(oss(Object.assign(new Error('connect ECONNREFUSED'), { name: 'RequestError', code: 'ECONNREFUSED', status: -1 })).code).toBe('Unavailable');
  });

  it('a truncated listing page without a token is Unavailable and not retryable, for both', () => {
    expect(truncatedListing('s3', 'hls/')).toMatchObject({ code: 'Unavailable', retryable: false });
  });
});

describe('local and Redis agree where the condition exists', () => {
  it('an object too large for the store is InvalidArgument everywhere', () => {
    expect(mapLocalError(Object.assign(new Error('EFBIG: file too large'), { code: 'EFBIG' }), 'k').code).toBe('InvalidArgument');
    const context = { address: '127.0.0.1:6379', secrets: [], lastConnectionError: undefined };
    expect(mapRedisError(new Error('ERR Protocol error: invalid bulk length'), 'k', context).code).toBe('InvalidArgument');
    expect(mapRedisError(new Error('ERR string exceeds maximum allowed size (proto-max-bulk-len)'), 'k', context).code).toBe('InvalidArgument');
    expect(s3(s3Error('EntityTooLarge', 400)).code).toBe('InvalidArgument');
  });
});
