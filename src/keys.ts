// The key grammar: the only place that decides what a safe key is. Keys are validated here, once,
// at the front door; the local backend checks again that each resolved path stays under its root.

import { StorageError } from './errors.js';

/**
 * Orders names by code point: the same order on every machine and locale, and without
 * localeCompare, whose first call loads ICU collation data (8 ms of every command's start-up).
 */
export function compareNames(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/**
 * Orders keys by code point, which is the UTF-8 byte order S3 and OSS list in. It differs from
 * `<` on strings only where a character outside the Basic Multilingual Plane (a surrogate pair)
 * meets one from U+E000 to U+FFFF.
 */
export function compareKeys(a: string, b: string): number {
  const shorter = Math.min(a.length, b.length);
  for (let i = 0; i < shorter; i++) {
    const x = a.charCodeAt(i);
    const y = b.charCodeAt(i);
    if (x === y) continue;
    const xSurrogate = x >= 0xd800 && x <= 0xdfff;
    if (xSurrogate !== (y >= 0xd800 && y <= 0xdfff)) return xSurrogate ? 1 : -1;
    return x - y;
  }
  return a.length - b.length;
}

/** Longest key accepted (S3 and OSS allow 1024 bytes). */
export const MAX_KEY_LENGTH = 1024;

/** Keys under this prefix belong to flux-storage itself (health probes); never listed as data. */
export const RESERVED_PREFIX = '.flux-storage/';

/**
 * Why `key` is not a safe object key, or undefined when it is. A safe key is a relative,
 * `/`-separated path: no empty, `.` or `..` parts, no leading or trailing `/`, no backslash,
 * no NUL or other control characters, at most MAX_KEY_LENGTH bytes.
 */
export function keyProblem(key: string): string | undefined {
  if (typeof key !== 'string' || key.length === 0) return 'the key is empty';
  if (Buffer.byteLength(key) > MAX_KEY_LENGTH) return `the key is longer than ${MAX_KEY_LENGTH} bytes`;
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u001f\u007f]/.test(key)) return 'the key contains a control character (NUL, newline...)';
  if (key.includes('\\')) return 'the key contains a backslash';
  if (key.startsWith('/')) return 'the key is an absolute path';
  const parts = key.split('/');
  if (parts.some((part) => part === '')) return 'the key has an empty path part (a leading, trailing or double "/")';
  if (parts.some((part) => part === '.' || part === '..')) return 'the key has a "." or ".." path part';
  return undefined;
}

/** Throws InvalidKey unless `key` is a safe key. */
export function assertValidKey(key: string): string {
  const problem = keyProblem(key);
  if (problem !== undefined) throw new StorageError('InvalidKey', `${problem}: ${JSON.stringify(key)}`);
  return key;
}

/**
 * Throws InvalidKey unless `prefix` is a valid listing prefix: the empty string (everything), or a
 * safe key followed by `/` (a folder). Listing is by folder so that every backend can answer it
 * without walking unrelated keys.
 */
export function assertValidPrefix(prefix: string): string {
  if (prefix === '') return prefix;
  if (!prefix.endsWith('/')) {
    throw new StorageError('InvalidKey', `a listing prefix must be empty or end with "/": ${JSON.stringify(prefix)}`);
  }
  const problem = keyProblem(prefix.slice(0, -1));
  if (problem !== undefined) throw new StorageError('InvalidKey', `${problem}: ${JSON.stringify(prefix)}`);
  return prefix;
}

/** The folder part of a key, with its trailing `/` ('' for a key at the top). */
export function parentPrefix(key: string): string {
  const slash = key.lastIndexOf('/');
  return slash === -1 ? '' : key.slice(0, slash + 1);
}

/** For deleteMany: the safe keys, and an InvalidKey failure for each unsafe one (never sent). */
export function partitionKeys(keys: readonly string[]): { valid: string[]; failed: { key: string; error: Error }[] } {
  const valid: string[] = [];
  const failed: { key: string; error: Error }[] = [];
  for (const key of keys) {
    const problem = keyProblem(key);
    if (problem === undefined) valid.push(key);
    else failed.push({ key, error: new StorageError('InvalidKey', `${problem}: ${JSON.stringify(key)}`) });
  }
  return { valid, failed };
}
