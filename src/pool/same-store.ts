// Whether two pools reach the same storage, proven by the storage itself: a random marker object is
// written through one pool and looked for through the other. Configs cannot tell: the same folder
// spelled two ways, a symlinked root, one bucket behind two endpoints, one Redis database under two
// URLs all look different and are one store. Moving or deleting across two such pools loses data
// (a migrate with --delete-source deletes the only copy), so callers ask this before they do.

import { isStorageError, StorageError, toStorageError, type StorageErrorCode } from '../errors.js';
import { RESERVED_PREFIX } from '../keys.js';
import type { StoragePool } from './pool.js';

export interface SameStoreOptions {
  /** Aborts the check (Interrupted); the marker is still removed where the pool allows. */
  signal?: AbortSignal | undefined;
}

/** Where markers live: under the reserved prefix, so no listing ever yields one. */
export const SAME_STORE_PREFIX = `${RESERVED_PREFIX}same-store/`;

/**
 * True when an object written through one pool can be read through the other (they are one store),
 * false when the other pool answers that it has no such object.
 *
 * The marker (`.flux-storage/same-store/<random>`, random bytes) is written through the first of
 * `a`, `b` that is not read-only and accepts the write, read through the other and compared, then
 * deleted (best effort: a marker left behind is under the reserved prefix, never listed as data).
 * A read-only pool is never written to, not even a marker.
 *
 * When neither pool can be written (both read-only, or both refuse the write) there is no proof
 * either way, and it throws a StorageError: PermissionDenied when both are read-only, else the
 * code of the write failures (the most telling one). It also throws when the other pool's read
 * fails other than with NotFound: "could not tell" never reads as "different stores". Callers that
 * are about to delete must then not delete.
 */
export async function sameStore(a: StoragePool, b: StoragePool, options: SameStoreOptions = {}): Promise<boolean> {
  if (a === b) return true;
  const key = `${SAME_STORE_PREFIX}${Date.now().toString(36)}-${process.pid}-${randomToken()}`;
  const marker = Buffer.from(`flux-storage same-store marker ${key} ${randomToken()}${randomToken()}`);
  const writeFailures: StorageError[] = [];
  for (const [writer, reader] of [[a, b], [b, a]] as const) {
    if (writer.config.readOnly) continue;
    checkSignal(options.signal, a, b);
    try {
      await writer.write(key, marker, { signal: options.signal });
    } catch (error) {
      writeFailures.push(toStorageError(error, { pool: writer.name, key }));
      continue;
    }
    try {
      checkSignal(options.signal, a, b);
      return await holdsMarker(reader, key, marker, options.signal);
    } finally {
      await writer.delete(key).catch(() => undefined);
    }
  }
  throw cannotTell(a, b, writeFailures);
}

async function holdsMarker(reader: StoragePool, key: string, marker: Buffer, signal: AbortSignal | undefined): Promise<boolean> {
  try {
    return (await reader.read(key, { signal })).equals(marker);
  } catch (error) {
    if (isStorageError(error, 'NotFound')) return false;
    throw error;
  }
}

function cannotTell(a: StoragePool, b: StoragePool, failures: StorageError[]): StorageError {
  const pools = `pools "${a.name}" and "${b.name}"`;
  if (failures.length === 0) {
    return new StorageError('PermissionDenied', `cannot tell whether ${pools} are one store: both are read-only, and a marker object must be written to one of them to find out`);
  }
  const code = mostTelling(failures.map((f) => f.code));
  const reasons = failures.map((f) => f.message).join('; ');
  return new StorageError(code, `cannot tell whether ${pools} are one store: no marker object could be written (${reasons})`, { cause: failures[0] });
}

/** A failure that says what is wrong beats one that says "try again". */
function mostTelling(codes: StorageErrorCode[]): StorageErrorCode {
  const lasting = codes.find((code) => code !== 'Unavailable' && code !== 'Timeout' && code !== 'RateLimited');
  return lasting ?? codes[0] ?? 'Unavailable';
}

function checkSignal(signal: AbortSignal | undefined, a: StoragePool, b: StoragePool): void {
  if (signal?.aborted) throw new StorageError('Interrupted', `interrupted while checking whether pools "${a.name}" and "${b.name}" are one store`);
}

// Math.random, not node:crypto: uniqueness is all a marker needs, and loading node:crypto costs
// start-up time in commands that do not otherwise use it.
function randomToken(): string {
  return Math.random().toString(36).slice(2, 12).padEnd(10, '0');
}
