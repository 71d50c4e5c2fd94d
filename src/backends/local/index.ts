// The local backend: objects are files under a root folder. Writes go to a temporary file in the
// root's reserved folder and are renamed into place, so no reader ever sees half an object.

import { mkdir, open, opendir, readFile, readdir, rename, rm, stat, statfs, unlink } from 'node:fs/promises';
import type { Dir } from 'node:fs';
import path from 'node:path';
import pLimit from 'p-limit';
import { StorageError } from '../../errors.js';
import { assertValidKey, assertValidPrefix, RESERVED_PREFIX } from '../../keys.js';
import type { BackendCapabilities, BackendContext, BackendUsage, CallOptions, DeleteManyResult, ObjectInfo, ReadOptions, StorageBackend, WriteOptions, WriteReceipt } from '../types.js';
import { abortError, throwIfAborted } from '../abort.js';
import { errnoCode, mapLocalError } from './errors.js';
import type { LocalOptions } from './options.js';

const TMP_FOLDER = `${RESERVED_PREFIX}tmp`;
/** Numbers this process's temporary files (with the pid and a random part, their names are unique). */
let tmpSequence = 0;
/** A temporary file whose writer is gone, or older than this, is swept away. */
const STALE_TMP_MS = 60 * 60 * 1000;

export class LocalBackend implements StorageBackend {
  readonly type = 'local';
  readonly capabilities: BackendCapabilities = {
    batchDelete: false,
    maxBatchDelete: Infinity,
    ttl: false,
    usage: true,
    md5: false,
    checksWriteMd5: false,
    nativeRetry: false,
  };
  readonly root: string;
  private readonly options: LocalOptions;
  private readonly tmpDir: string;
  private tmpSwept: Promise<void> | undefined;

  constructor(options: LocalOptions, context: Pick<BackendContext, 'baseDir'> = { baseDir: process.cwd() }) {
    this.options = options;
    this.root = path.resolve(context.baseDir, options.root);
    this.tmpDir = path.join(this.root, TMP_FOLDER);
  }

  /** The absolute path of `key`, refusing any key that would resolve outside the root. */
  resolve(key: string): string {
    assertValidKey(key);
    const full = path.resolve(this.root, key);
    if (!full.startsWith(this.root + path.sep)) {
      throw new StorageError('InvalidKey', `resolves outside the root ${this.root}`, { backend: this.type, key });
    }
    return full;
  }

  async write(key: string, data: Uint8Array, options: WriteOptions = {}): Promise<WriteReceipt> {
    const target = this.resolve(key);
    const { signal } = options;
    try {
      throwIfAborted(signal);
      await this.ensureTmpDir();
      const tmp = path.join(this.tmpDir, `${process.pid}.${(tmpSequence++).toString(36)}.${Math.random().toString(36).slice(2, 10)}`);
      const handle = await open(tmp, 'w');
      try {
        await handle.writeFile(data, { signal });
        if (this.options.fsync) await handle.datasync();
        // An aborted write is never renamed into place: it cannot land after the caller gave up.
        throwIfAborted(signal);
      } catch (error) {
        await handle.close();
        await unlink(tmp).catch(() => undefined);
        throw error;
      }
      await handle.close();
      await this.renameIntoPlace(tmp, target);
      return {};
    } catch (error) {
      throw await this.mapError(error, key, signal);
    }
  }

  async read(key: string, options: ReadOptions = {}): Promise<Buffer> {
    const file = this.resolve(key);
    const { signal } = options;
    try {
      throwIfAborted(signal);
      if (options.into === undefined) return await readFile(file, { signal });
      return await readInto(file, options.into, signal);
    } catch (error) {
      throw await this.mapError(error, key, signal);
    }
  }

  async delete(key: string, options: CallOptions = {}): Promise<void> {
    const file = this.resolve(key);
    try {
      throwIfAborted(options.signal);
      await unlink(file);
    } catch (error) {
      const mapped = await this.mapError(error, key, options.signal);
      if (mapped.code !== 'NotFound') throw mapped;
    }
  }

  async deleteMany(keys: readonly string[], options: CallOptions = {}): Promise<DeleteManyResult> {
    const limit = pLimit(this.options.concurrency);
    const result: DeleteManyResult = { deleted: [], failed: [] };
    await Promise.all(
      keys.map((key) =>
        limit(async () => {
          try {
            await this.delete(key, options);
            result.deleted.push(key);
          } catch (error) {
            result.failed.push({ key, error: error as Error });
          }
        }),
      ),
    );
    return result;
  }

  async *list(prefix: string, options: CallOptions = {}): AsyncIterable<ObjectInfo> {
    assertValidPrefix(prefix);
    const { signal } = options;
    const start = prefix === '' ? this.root : this.resolve(prefix.slice(0, -1));
    const limit = pLimit(this.options.concurrency);
    const folders = [{ dir: start, keyPrefix: prefix }];
    for (let folder = folders.pop(); folder !== undefined; folder = folders.pop()) {
      throwIfAborted(signal, { backend: this.type, key: prefix });
      let handle: Dir;
      try {
        handle = await opendir(folder.dir, { bufferSize: 256 });
      } catch (error) {
        const mapped = await this.mapError(error, prefix);
        // A missing folder (or one that is a file) holds nothing; a broken root is an error.
        if (mapped.code === 'NotFound') continue;
        throw mapped;
      }
      const files: string[] = [];
      for await (const entry of handle) {
        const key = folder.keyPrefix + entry.name;
        if (entry.isDirectory()) {
          if (`${key}/` !== RESERVED_PREFIX) folders.push({ dir: path.join(folder.dir, entry.name), keyPrefix: `${key}/` });
        } else if (entry.isFile()) {
          files.push(key);
        }
      }
      for (let i = 0; i < files.length; i += 1024) {
        const page = await Promise.all(files.slice(i, i + 1024).map((key) => limit(() => this.statOrNull(key))));
        for (const info of page) if (info !== null) yield info;
      }
    }
  }

  async exists(key: string, options: CallOptions = {}): Promise<boolean> {
    throwIfAborted(options.signal, { backend: this.type, key });
    return (await this.statOrNull(key)) !== null;
  }

  async stat(key: string, options: CallOptions = {}): Promise<ObjectInfo> {
    throwIfAborted(options.signal, { backend: this.type, key });
    const info = await this.statOrNull(key);
    if (info === null) throw new StorageError('NotFound', 'no such object', { backend: this.type, key });
    return info;
  }

  async usage(): Promise<BackendUsage> {
    let dir = this.root;
    for (;;) {
      try {
        const fs = await statfs(dir);
        return { usedBytes: (fs.blocks - fs.bfree) * fs.bsize, totalBytes: fs.blocks * fs.bsize };
      } catch (error) {
        const parent = path.dirname(dir);
        if (errnoCode(error) !== 'ENOENT' || parent === dir) throw await this.mapError(error, undefined);
        dir = parent;
      }
    }
  }

  async close(): Promise<void> {}

  /** stat of a key's file; null when no regular file is there. Other failures throw. */
  private async statOrNull(key: string): Promise<ObjectInfo | null> {
    const file = this.resolve(key);
    try {
      const info = await stat(file);
      return info.isFile() ? { key, size: info.size, modified: info.mtime } : null;
    } catch (error) {
      const mapped = await this.mapError(error, key);
      if (mapped.code === 'NotFound') return null;
      throw mapped;
    }
  }

  private async renameIntoPlace(tmp: string, target: string): Promise<void> {
    try {
      await mkdir(path.dirname(target), { recursive: true });
      await rename(tmp, target);
    } catch (error) {
      await unlink(tmp).catch(() => undefined);
      throw error;
    }
  }

  /** Creates the temporary folder and, once per process, removes files that dead writers left. */
  private async ensureTmpDir(): Promise<void> {
    this.tmpSwept ??= mkdir(this.tmpDir, { recursive: true }).then(() => this.sweepStaleTmp());
    await this.tmpSwept;
  }

  private async sweepStaleTmp(): Promise<void> {
    const names = await readdir(this.tmpDir).catch(() => [] as string[]);
    await Promise.all(
      names.map(async (name) => {
        const pid = Number(name.split('.')[0]);
        const file = path.join(this.tmpDir, name);
        const info = await stat(file).catch(() => null);
        if (info === null) return;
        if (!processAlive(pid) || Date.now() - info.mtimeMs > STALE_TMP_MS) await rm(file, { force: true });
      }),
    );
  }

  /**
   * A filesystem error as a StorageError. "Not a directory" means NotFound when some part of the
   * key is a file, but Unavailable when the root itself is not a folder (a broken pool).
   */
  private async mapError(error: unknown, key: string | undefined, signal?: AbortSignal): Promise<StorageError> {
    if (signal?.aborted === true) return abortError(signal, { backend: this.type, key });
    const code = errnoCode(error);
    if (code === 'ENOENT' || code === 'ENOTDIR' || code === 'EISDIR' || code === 'EEXIST') {
      const rootProblem = await this.rootProblem();
      if (rootProblem !== undefined) {
        return new StorageError('Unavailable', rootProblem, { backend: this.type, key, cause: error, retryable: false });
      }
      if (code === 'ENOENT' || code === 'ENOTDIR' || (code === 'EISDIR' && key !== undefined)) {
        return new StorageError('NotFound', 'no such object', { backend: this.type, key, cause: error });
      }
    }
    return mapLocalError(error, key);
  }

  private async rootProblem(): Promise<string | undefined> {
    const info = await stat(this.root).catch((error: unknown) => errnoCode(error) ?? 'error');
    if (typeof info === 'string') return info === 'ENOENT' ? undefined : `the root ${this.root} cannot be read (${info})`;
    return info.isDirectory() ? undefined : `the root ${this.root} is not a directory`;
  }
}

/**
 * Reads a file into the start of `into` when it is smaller than `into` (a read that fills it means
 * the file is at least as big, perhaps growing: then it is read whole into a new buffer).
 */
async function readInto(file: string, into: Buffer, signal: AbortSignal | undefined): Promise<Buffer> {
  const handle = await open(file, 'r');
  try {
    let total = 0;
    while (total < into.length) {
      throwIfAborted(signal);
      const { bytesRead } = await handle.read(into, total, into.length - total, total);
      if (bytesRead === 0) return into.subarray(0, total);
      total += bytesRead;
    }
    return await readFile(handle, { signal });
  } finally {
    await handle.close();
  }
}

function processAlive(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  if (pid === process.pid) return true;
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return errnoCode(error) === 'EPERM';
  }
}

export function createLocalBackend(options: LocalOptions, context: BackendContext): StorageBackend {
  return new LocalBackend(options, context);
}
