// The local backend: objects are files under a root folder. Writes go to a temporary file in the
// root's reserved folder and are renamed into place, so no reader ever sees half an object.
//
// Symlinks below the root are never followed: a folder or file that is a symlink (to outside the
// root or inside it alike) is not an object, so it is not listed, read, stat'ed or deleted, and a
// write through a symlinked folder is refused. The OS decides, not string checks: files are opened
// with O_NOFOLLOW and checked with lstat, folders by comparing their realpath with the path under
// the root's own realpath (a symlink in the root's own path is the operator's choice, resolved once).

import { constants, type Dir } from 'node:fs';
import { lstat, mkdir, stat, open, opendir, readdir, realpath, rename, rm, statfs, unlink, type FileHandle } from 'node:fs/promises';
import path from 'node:path';
import pLimit, { type LimitFunction } from 'p-limit';
import { StorageError } from '../../errors.js';
import { assertValidKey, assertValidPrefix, compareKeys, RESERVED_PREFIX } from '../../keys.js';
import type { BackendCapabilities, BackendContext, BackendUsage, CallOptions, DeleteManyResult, ObjectInfo, ReadOptions, ReadStreamOptions, StorageBackend, WriteOptions, WriteReceipt } from '../types.js';
import { abortError, throwIfAborted } from '../abort.js';
import { errnoCode, mapLocalError } from './errors.js';
import { isFilesystemRoot, type LocalOptions } from './options.js';

const TMP_FOLDER = `${RESERVED_PREFIX}tmp`;
/** Numbers this process's temporary files (with the pid and a random part, their names are unique). */
let tmpSequence = 0;
/** A temporary file whose writer is gone, or older than this, is swept away. */
const STALE_TMP_MS = 60 * 60 * 1000;
/** Opening an object: never through a symlink, and never blocking on a FIFO someone left there. */
const OPEN_OBJECT = constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK;

/** A folder under the root: a real folder there, missing, or reached through a symlink. */
type FolderState = 'inside' | 'missing' | 'symlink';

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
    orderedList: true,
    streamRead: true,
  };
  /** The root as configured, resolved against the config's folder. */
  readonly root: string;
  private readonly options: LocalOptions;
  private realRoot: string | undefined;
  private tmpReady: Promise<string> | undefined;

  constructor(options: LocalOptions, context: Pick<BackendContext, 'baseDir'> = { baseDir: process.cwd() }) {
    this.options = options;
    this.root = path.resolve(context.baseDir, options.root);
    if (isFilesystemRoot(this.root)) {
      throw new StorageError('ConfigInvalid', `root ${JSON.stringify(options.root)} is the filesystem root: name a folder for the segments`, { backend: this.type });
    }
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
    this.resolve(key);
    const { signal } = options;
    try {
      throwIfAborted(signal);
      const { tmp, handle } = await this.createTmp();
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
      try {
        // rename() replaces a symlink at the target itself; it never writes through one.
        const folder = await this.ensureFolder(parentOf(key));
        await rename(tmp, path.join(folder, path.basename(key)));
      } catch (error) {
        await unlink(tmp).catch(() => undefined);
        throw error;
      }
      return {};
    } catch (error) {
      throw await this.mapError(error, key, signal);
    }
  }

  async read(key: string, options: ReadOptions = {}): Promise<Buffer> {
    this.resolve(key);
    const { signal } = options;
    try {
      throwIfAborted(signal);
      const handle = await this.openObject(key);
      try {
        return options.into === undefined ? await handle.readFile({ signal }) : await readInto(handle, options.into, signal);
      } finally {
        await handle.close();
      }
    } catch (error) {
      throw await this.mapError(error, key, signal);
    }
  }

  async *readStream(key: string, options: ReadStreamOptions = {}): AsyncIterable<Uint8Array> {
    this.resolve(key);
    const { signal } = options;
    let handle: FileHandle;
    try {
      throwIfAborted(signal);
      handle = await this.openObject(key);
    } catch (error) {
      throw await this.mapError(error, key, signal);
    }
    try {
      for await (const chunk of handle.createReadStream({ start: options.start ?? 0, end: options.end ?? Infinity, signal, autoClose: false })) yield chunk as Buffer;
    } catch (error) {
      throw await this.mapError(error, key, signal);
    } finally {
      await handle.close();
    }
  }

  async delete(key: string, options: CallOptions = {}): Promise<void> {
    this.resolve(key);
    try {
      throwIfAborted(options.signal);
      const file = await this.objectPath(key);
      // Only a regular file is an object: a symlink (or a folder) there is left alone.
      if (file === null || !(await lstat(file)).isFile()) return;
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
    if (prefix !== '') this.resolve(prefix.slice(0, -1));
    const root = await this.rootOrNull(prefix);
    if (root === null) return;
    yield* this.listFolder(root, prefix, prefix, pLimit(this.options.concurrency), options.signal);
  }

  /**
   * One folder in key order (capabilities.orderedList): its entries sorted as keys, a sub-folder
   * as its name and "/", walked where it falls, so memory holds one folder's names per level.
   */
  private async *listFolder(root: string, folder: string, prefix: string, limit: LimitFunction, signal: AbortSignal | undefined): AsyncGenerator<ObjectInfo> {
    throwIfAborted(signal, { backend: this.type, key: prefix });
    const rel = folder.slice(0, -1);
    // Each folder is checked before it is opened: one found as a folder may since have been
    // replaced by a symlink.
    if (rel !== '' && (await this.folderState(root, rel)) !== 'inside') return;
    const dir = rel === '' ? root : path.join(root, rel);
    let handle: Dir;
    try {
      handle = await opendir(dir, { bufferSize: 256 });
    } catch (error) {
      const mapped = await this.mapError(error, prefix);
      // A missing folder (or one that is a file) holds nothing; a broken root is an error.
      if (mapped.code === 'NotFound') return;
      throw mapped;
    }
    const entries: { name: string; order: string; folder: boolean }[] = [];
    for await (const entry of handle) {
      // Dirent types come from lstat: a symlink is neither a directory nor a file here.
      if (entry.isDirectory()) {
        if (`${folder}${entry.name}/` !== RESERVED_PREFIX) entries.push({ name: entry.name, order: `${entry.name}/`, folder: true });
      } else if (entry.isFile()) {
        entries.push({ name: entry.name, order: entry.name, folder: false });
      }
    }
    entries.sort((a, b) => compareKeys(a.order, b.order));
    for (let i = 0; i < entries.length; ) {
      const entry = entries[i]!;
      if (entry.folder) {
        yield* this.listFolder(root, `${folder}${entry.name}/`, prefix, limit, signal);
        i++;
        continue;
      }
      const files: string[] = [];
      for (; i < entries.length && !entries[i]!.folder && files.length < 1024; i++) files.push(entries[i]!.name);
      const page = await Promise.all(files.map((name) => limit(() => this.fileInfo(folder + name, path.join(dir, name)))));
      for (const info of page) if (info !== null) yield info;
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
    if (!this.options.createRoot) await this.rootOrNull(undefined);
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

  /**
   * The root's real path. When the root does not exist: with createRoot, null before a write (an
   * empty store) and created by a write; without it, an Unavailable error naming the path.
   */
  private async rootOrNull(key: string | undefined, create = false): Promise<string | null> {
    if (this.realRoot !== undefined) return this.realRoot;
    let real: string;
    try {
      real = await realpath(this.root);
    } catch (error) {
      if (errnoCode(error) !== 'ENOENT') throw await this.mapError(error, key);
      if (!this.options.createRoot) throw this.missingRoot(key, error);
      if (!create) return null;
      await mkdir(this.root, { recursive: true });
      real = await realpath(this.root);
    }
    if (!(await lstat(real)).isDirectory()) {
      throw new StorageError('Unavailable', `the root ${this.root} is not a directory`, { backend: this.type, key, retryable: false });
    }
    this.realRoot = real;
    return real;
  }

  private missingRoot(key: string | undefined, cause?: unknown): StorageError {
    return new StorageError('Unavailable', `the root ${this.root} does not exist: create it (or mount its disk), or set "createRoot": true on the pool's backend`, {
      backend: this.type,
      key,
      cause,
      retryable: false,
    });
  }

  /** Whether `rel` (a folder under the root, '/'-separated) is a real folder there, missing, or reached through a symlink. */
  private async folderState(root: string, rel: string): Promise<FolderState> {
    const expected = path.join(root, rel);
    try {
      return (await realpath(expected)) === expected ? 'inside' : 'symlink';
    } catch (error) {
      const code = errnoCode(error);
      if (code === 'ENOENT' || code === 'ENOTDIR') return 'missing';
      if (code === 'ELOOP') return 'symlink';
      throw error;
    }
  }

  /**
   * The real folder `rel` under the root, created when missing. Refused (Unsupported) when it, or
   * a folder above it, is a symlink; nothing is created through one.
   */
  private async ensureFolder(rel: string): Promise<string> {
    const root = (await this.rootOrNull(rel, true))!;
    const dir = rel === '' ? root : path.join(root, rel);
    let state = rel === '' ? 'inside' : await this.folderState(root, rel);
    if (state === 'missing') {
      // The deepest folder that exists must be a real one, or mkdir would create through a link.
      let above = parentOf(rel);
      while (above !== '' && (await this.folderState(root, above)) === 'missing') above = parentOf(above);
      if (above !== '' && (await this.folderState(root, above)) === 'symlink') throw this.symlinkRefused(above);
      if (above === '') await this.recheckRoot(root, rel);
      await mkdir(dir, { recursive: true });
      state = await this.folderState(root, rel);
    }
    if (state !== 'inside') throw this.symlinkRefused(rel);
    return dir;
  }

  /** Before creating the first folder under the root: the root found earlier must still be there (a disk may have been unmounted). */
  private async recheckRoot(root: string, key: string): Promise<void> {
    const state = await this.folderState(root, '');
    if (state === 'inside') return;
    if (state === 'missing' && this.options.createRoot) return void (await mkdir(root, { recursive: true }));
    this.realRoot = undefined;
    throw state === 'missing' ? this.missingRoot(key) : this.symlinkRefused('');
  }

  private symlinkRefused(rel: string): StorageError {
    const where = rel === '' ? `the root ${this.root}` : `${rel} (under ${this.root})`;
    return new StorageError('Unsupported', `${where} is, or passes through, a symlink: the local backend never follows symlinks; make it a real folder`, {
      backend: this.type,
      key: rel === '' ? undefined : rel,
      retryable: false,
    });
  }

  /** The file path of `key` when its folder is a real folder under the root; null when it is missing or a symlink. */
  private async objectPath(key: string): Promise<string | null> {
    const root = await this.rootOrNull(key);
    if (root === null) return null;
    const folder = parentOf(key);
    const state = folder === '' ? 'inside' : await this.folderState(root, folder);
    if (state === 'missing') {
      // Absent, unless the root itself went away since it was found (an unmounted disk).
      const problem = await this.rootProblem(key, undefined);
      if (problem !== undefined) throw problem;
    }
    return state === 'inside' ? path.join(root, key) : null;
  }

  /** The object's file, opened for reading: NotFound unless it is a regular file reached without a symlink. */
  private async openObject(key: string): Promise<FileHandle> {
    const file = await this.objectPath(key);
    if (file === null) throw new StorageError('NotFound', 'no such object', { backend: this.type, key });
    let handle: FileHandle;
    try {
      handle = await open(file, OPEN_OBJECT);
    } catch (error) {
      if (errnoCode(error) === 'ELOOP') throw new StorageError('NotFound', 'no such object (a symlink, which the local backend does not follow)', { backend: this.type, key, cause: error });
      throw error;
    }
    if (!(await handle.stat()).isFile()) {
      await handle.close();
      throw new StorageError('NotFound', 'no such object (not a regular file)', { backend: this.type, key });
    }
    return handle;
  }

  /** lstat of a key's file; null when no regular file is there (a symlink is none). Other failures throw. */
  private async statOrNull(key: string): Promise<ObjectInfo | null> {
    this.resolve(key);
    try {
      const file = await this.objectPath(key);
      return file === null ? null : await this.fileInfo(key, file);
    } catch (error) {
      const mapped = await this.mapError(error, key);
      if (mapped.code === 'NotFound') return null;
      throw mapped;
    }
  }

  private async fileInfo(key: string, file: string): Promise<ObjectInfo | null> {
    try {
      const info = await lstat(file);
      return info.isFile() ? { key, size: info.size, modified: info.mtime } : null;
    } catch (error) {
      const mapped = await this.mapError(error, key);
      if (mapped.code === 'NotFound') return null;
      throw mapped;
    }
  }

  /**
   * A new temporary file for a write. When the temporary folder made earlier is gone (the root was
   * deleted, unmounted or replaced since), it is made again, or refused, as on the first write:
   * recreated under createRoot, else the root is reported missing or a symlink.
   */
  private async createTmp(): Promise<{ tmp: string; handle: FileHandle }> {
    for (let again = false; ; again = true) {
      const tmpDir = await this.ensureTmpDir();
      const tmp = path.join(tmpDir, `${process.pid}.${(tmpSequence++).toString(36)}.${Math.random().toString(36).slice(2, 10)}`);
      try {
        return { tmp, handle: await open(tmp, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, 0o644) };
      } catch (error) {
        const code = errnoCode(error);
        if (again || (code !== 'ENOENT' && code !== 'ENOTDIR')) throw error;
        this.tmpReady = undefined;
      }
    }
  }

  /** Creates the temporary folder (a real one) and, once per process, removes files that dead writers left. */
  private ensureTmpDir(): Promise<string> {
    this.tmpReady ??= this.ensureFolder(TMP_FOLDER).then(async (dir) => {
      await sweepStaleTmp(dir);
      return dir;
    });
    // A failure is not remembered: the next write tries again (the root may have been mounted since).
    this.tmpReady.catch(() => (this.tmpReady = undefined));
    return this.tmpReady;
  }

  /**
   * A filesystem error as a StorageError. "Not a directory" means NotFound when some part of the
   * key is a file, but Unavailable when the root itself is not a folder (a broken pool).
   */
  private async mapError(error: unknown, key: string | undefined, signal?: AbortSignal): Promise<StorageError> {
    if (signal?.aborted === true) return abortError(signal, { backend: this.type, key });
    if (error instanceof StorageError) return error;
    const code = errnoCode(error);
    if (code === 'ENOENT' || code === 'ENOTDIR' || code === 'EISDIR' || code === 'EEXIST') {
      const rootProblem = await this.rootProblem(key, error);
      if (rootProblem !== undefined) return rootProblem;
      if (code === 'ENOENT' || code === 'ENOTDIR' || (code === 'EISDIR' && key !== undefined)) {
        return new StorageError('NotFound', 'no such object', { backend: this.type, key, cause: error });
      }
    }
    return mapLocalError(error, key);
  }

  private async rootProblem(key: string | undefined, cause: unknown): Promise<StorageError | undefined> {
    const info = await stat(this.root).catch((error: unknown) => errnoCode(error) ?? 'error');
    const unavailable = (detail: string) => new StorageError('Unavailable', detail, { backend: this.type, key, cause, retryable: false });
    if (info === 'ENOENT') {
      // The root went away since it was found (an unmounted disk): report it, never recreate it.
      this.realRoot = undefined;
      return this.options.createRoot ? undefined : this.missingRoot(key, cause);
    }
    if (typeof info === 'string') return unavailable(`the root ${this.root} cannot be read (${info})`);
    return info.isDirectory() ? undefined : unavailable(`the root ${this.root} is not a directory`);
  }
}

/** The folder part of a key, without its trailing `/` ('' at the top). */
function parentOf(key: string): string {
  const slash = key.lastIndexOf('/');
  return slash === -1 ? '' : key.slice(0, slash);
}

async function sweepStaleTmp(tmpDir: string): Promise<void> {
  const names = await readdir(tmpDir).catch(() => [] as string[]);
  await Promise.all(
    names.map(async (name) => {
      const pid = Number(name.split('.')[0]);
      const file = path.join(tmpDir, name);
      const info = await lstat(file).catch(() => null);
      if (info === null) return;
      if (!processAlive(pid) || Date.now() - info.mtimeMs > STALE_TMP_MS) await rm(file, { force: true });
    }),
  );
}

/**
 * Reads an open file into the start of `into` when it is smaller than `into` (a read that fills it
 * means the file is at least as big, perhaps growing: then it is read whole into a new buffer).
 */
async function readInto(handle: FileHandle, into: Buffer, signal: AbortSignal | undefined): Promise<Buffer> {
  let total = 0;
  while (total < into.length) {
    throwIfAborted(signal);
    const { bytesRead } = await handle.read(into, total, into.length - total, total);
    if (bytesRead === 0) return into.subarray(0, total);
    total += bytesRead;
  }
  return handle.readFile({ signal });
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
