// OSS v1 request signing as the OSS test server checks it: the StringToSign built from a request's
// verb, headers and canonical resource (with only the whitelisted sub-resources), then HMAC-SHA1.

import { createHmac, timingSafeEqual } from 'node:crypto';

/** Query parameters that are part of the canonical resource; all others (prefix, max-keys...) are not. */
export const SIGNED_SUBRESOURCES: ReadonlySet<string> = new Set([
  'acl', 'append', 'bucketInfo', 'cname', 'comp', 'continuation-token', 'cors', 'delete', 'lifecycle',
  'live', 'location', 'logging', 'objectMeta', 'partNumber', 'position', 'qos', 'referer', 'replication',
  'response-cache-control', 'response-content-disposition', 'response-content-encoding',
  'response-content-language', 'response-content-type', 'response-expires', 'restore', 'security-token',
  'status', 'symlink', 'tagging', 'uploadId', 'uploads', 'versionId', 'versioning', 'versions', 'website',
  'x-oss-process', 'x-oss-traffic-limit',
]);

export interface SignableRequest {
  method: string;
  /** Lowercase header names, as node:http gives them. */
  headers: Record<string, string | string[] | undefined>;
  bucket: string;
  /** The decoded object key; '' for a bucket operation. */
  key: string;
  /** Decoded query parameters. */
  query: ReadonlyMap<string, string>;
}

function headerValue(headers: SignableRequest['headers'], name: string): string {
  const value = headers[name];
  return Array.isArray(value) ? value.join(',') : (value ?? '');
}

export function canonicalResource(bucket: string, key: string, query: ReadonlyMap<string, string>): string {
  const subresources = [...query.keys()]
    .filter((name) => SIGNED_SUBRESOURCES.has(name))
    .sort()
    .map((name) => {
      const value = query.get(name) ?? '';
      return value === '' ? name : `${name}=${value}`;
    });
  const resource = `/${bucket}/${key}`;
  return subresources.length === 0 ? resource : `${resource}?${subresources.join('&')}`;
}

export function stringToSign(request: SignableRequest): string {
  const h = request.headers;
  const ossHeaders = Object.keys(h)
    .filter((name) => name.toLowerCase().startsWith('x-oss-'))
    .map((name) => name.toLowerCase())
    .sort()
    .map((name) => `${name}:${headerValue(h, name).trim()}`);
  return [
    request.method.toUpperCase(),
    headerValue(h, 'content-md5'),
    headerValue(h, 'content-type'),
    headerValue(h, 'x-oss-date') || headerValue(h, 'date'),
    ...ossHeaders,
    canonicalResource(request.bucket, request.key, request.query),
  ].join('\n');
}

export function signOss(secret: string, toSign: string): string {
  return createHmac('sha1', secret).update(Buffer.from(toSign, 'utf8')).digest('base64');
}

export type SignatureCheck =
  | { ok: true }
  | { ok: false; code: 'AccessDenied' | 'InvalidAccessKeyId' | 'SignatureDoesNotMatch'; message: string; stringToSign?: string };

/** Checks the Authorization header `OSS <id>:<signature>` against the known keys (id → secret). */
export function verifyOssSignature(request: SignableRequest, keys: ReadonlyMap<string, string>): SignatureCheck {
  const match = /^OSS ([^:]+):(.+)$/.exec(headerValue(request.headers, 'authorization'));
  if (match === null) return { ok: false, code: 'AccessDenied', message: 'Authorization header is missing or not OSS v1.' };
  const [, id = '', signature = ''] = match;
  const secret = keys.get(id);
  if (secret === undefined) return { ok: false, code: 'InvalidAccessKeyId', message: 'The OSS Access Key Id you provided does not exist in our records.' };
  const toSign = stringToSign(request);
  const expected = Buffer.from(signOss(secret, toSign));
  const given = Buffer.from(signature);
  if (expected.length !== given.length || !timingSafeEqual(expected, given)) {
    return {
      ok: false,
      code: 'SignatureDoesNotMatch',
      message: 'The request signature we calculated does not match the signature you provided.',
      stringToSign: toSign,
    };
  }
  return { ok: true };
}
