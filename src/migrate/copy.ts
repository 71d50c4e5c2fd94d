// One object of a migration: is it already at the destination (the same bytes, proven), else read
// it, check the bytes read against what the source says it holds, write them, and prove the copy.
// Nothing here deletes: the caller deletes a source only after this resolved for it.

import type { ObjectInfo } from '../backends/types.js';
import { StorageError } from '../errors.js';
import type { StoragePool } from '../pool/pool.js';
import type { SharedBuffers } from './buffers.js';
import type { DestinationIndex } from './destination-index.js';
import type { Md5Hasher } from './md5-worker.js';

export type MigrateStage = 'list' | 'compare' | 'read' | 'write' | 'verify' | 'delete';

/** A failure of one object, with the step it failed at. */
export class StageFailure extends Error {
  readonly stage: MigrateStage;
  readonly error: StorageError;
  constructor(stage: MigrateStage, error: StorageError) {
    super(error.message);
    this.stage = stage;
    this.error = error;
  }
}

export interface CopyContext {
  from: StoragePool;
  to: StoragePool;
  destination: DestinationIndex;
  hasher: Md5Hasher;
  buffers: SharedBuffers;
  /** Read into reused buffers (given back only after every call they were lent to succeeded). */
  reuseBuffers: boolean;
  /** Skip an object whose copy has the same size, without comparing content (--size-only). */
  sizeOnly: boolean;
  /** Read back every copy and compare it with the bytes read (--checksum). */
  readBack: boolean;
  /** Every copy must be proven identical (a source will be deleted): write md5 or read-back. */
  prove: boolean;
  /** Decide only: no write (reads that decide whether an object is already there still happen). */
  dryRun: boolean;
}

export interface CopyOutcome {
  action: 'copied' | 'skipped';
  /** Bytes copied (or that would be, in a dry run). */
  bytes: number;
}

/** Copies `source` to the destination unless it is proven to be there already. Throws StageFailure. */
export async function copyObject(ctx: CopyContext, source: ObjectInfo): Promise<CopyOutcome> {
  const existing = await step('compare', source.key, ctx.to, () => ctx.destination.lookup(source.key));
  const compared = existing === null || existing.size !== source.size ? { same: false } : await compare(ctx, source, existing);
  if (compared.same) return { action: 'skipped', bytes: 0 };
  if (ctx.dryRun) return { action: 'copied', bytes: source.size };

  let data = compared.data;
  let lent: Buffer | undefined;
  if (data === undefined) {
    lent = ctx.reuseBuffers ? ctx.buffers.acquire(source.size + 1) : undefined;
    // Read into a lent buffer: after any failure below it is dropped, never given back, since a call
    // that was aborted may still hold it.
    data = await step('read', source.key, ctx.from, () => ctx.from.read(source.key, { into: lent }));
  }
  const needMd5 = source.md5 !== undefined || ctx.to.backend.capabilities.md5 || ctx.to.backend.capabilities.checksWriteMd5 || ctx.prove || ctx.readBack;
  const dataMd5 = needMd5 ? await ctx.hasher.digest(data) : undefined;
  await checkBytesRead(ctx.from, source, data, dataMd5);
  // The data's md5 goes with the upload: a store that checks it (Content-MD5) refuses a body that
  // does not match, skips hashing it again for the request signature, and the md5 it reports
  // holding is then compared with it.
  const receipt = await step('write', source.key, ctx.to, () => ctx.to.write(source.key, data, { md5: dataMd5 }));
  await step('verify', source.key, ctx.to, () => verifyCopy(ctx, source.key, data, dataMd5, receipt.md5));
  if (lent !== undefined) ctx.buffers.release(lent);
  return { action: 'copied', bytes: data.length };
}

/**
 * Whether the destination's object of the same size holds the same bytes. Proven by md5 where both
 * sides report one (S3/OSS ETags), else by reading the side(s) that do not and hashing or comparing
 * the bytes: never by size alone, unless --size-only asked for it. The source's bytes, when read
 * here, are returned for the copy.
 */
async function compare(ctx: CopyContext, source: ObjectInfo, existing: ObjectInfo): Promise<{ same: boolean; data?: Buffer }> {
  if (ctx.sizeOnly) return { same: true };
  if (source.md5 !== undefined && existing.md5 !== undefined) return { same: source.md5 === existing.md5 };
  const key = source.key;
  if (source.md5 !== undefined) {
    const theirs = await step('compare', key, ctx.to, () => ctx.to.read(key));
    return { same: (await ctx.hasher.digest(theirs)) === source.md5 };
  }
  const data = await step('read', key, ctx.from, () => ctx.from.read(key));
  await checkBytesRead(ctx.from, source, data, undefined);
  if (existing.md5 !== undefined) return { same: (await ctx.hasher.digest(data)) === existing.md5, data };
  const theirs = await step('compare', key, ctx.to, () => ctx.to.read(key));
  return { same: theirs.equals(data), data };
}

/**
 * The bytes read are what the source says it holds: its listed size, and its md5 where it knows one.
 * On a mismatch the source is asked again: an object rewritten since it was listed (a live
 * playlist) is fine when the bytes read match what it holds now; otherwise they are Corrupt (a
 * damaged object, a faulty read) and are written nowhere.
 */
async function checkBytesRead(from: StoragePool, source: ObjectInfo, data: Buffer, dataMd5: string | undefined): Promise<void> {
  const matches = (info: ObjectInfo): boolean => info.size === data.length && (info.md5 === undefined || info.md5 === dataMd5);
  if (matches(source)) return;
  const now = await step('read', source.key, from, () => from.stat(source.key));
  const changed = now.size !== source.size || now.md5 !== source.md5;
  if (changed && matches(now)) return;
  const what = data.length !== now.size ? 'size' : 'md5';
  throw new StageFailure('read', from.named(new StorageError('Corrupt', `the bytes read do not match the ${what} the source reports for the object (a damaged object or a faulty read): not copied, and the source is kept`), source.key));
}

/**
 * The copy holds the bytes read. --checksum (or a copy that must be proven, where the store reports
 * no md5 on write) reads it back and compares; a store that reports the md5 it holds (S3/OSS ETag)
 * proves it by that md5; otherwise (nothing will be deleted) a stat shows the right size.
 */
async function verifyCopy(ctx: CopyContext, key: string, data: Buffer, dataMd5: string | undefined, writtenMd5: string | undefined): Promise<void> {
  const corrupt = (detail: string): StorageError => new StorageError('Corrupt', detail, { key });
  if (ctx.readBack || (ctx.prove && writtenMd5 === undefined)) {
    if (!(await ctx.to.read(key)).equals(data)) throw corrupt('the copy read back differs from the bytes read from the source');
    return;
  }
  if (writtenMd5 !== undefined) {
    if (writtenMd5 !== (dataMd5 ?? (await ctx.hasher.digest(data)))) throw corrupt("the md5 the store reports for the copy differs from the bytes read's");
    return;
  }
  const copy = await ctx.to.stat(key);
  if (copy.size !== data.length) throw corrupt('the copy has another size than the bytes read');
  if (copy.md5 !== undefined && copy.md5 !== (dataMd5 ?? (await ctx.hasher.digest(data)))) throw corrupt("the copy's md5 differs from the bytes read's");
}

/** Runs one call of a step; its failure becomes a StageFailure naming the pool and key. */
async function step<T>(stage: MigrateStage, key: string, pool: StoragePool, run: () => Promise<T>): Promise<T> {
  try {
    return await run();
  } catch (error) {
    if (error instanceof StageFailure) throw error;
    throw new StageFailure(stage, pool.named(error, key));
  }
}
