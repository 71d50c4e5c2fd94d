// The StorageBackend contract: how bytes are stored in one place. Each method's comment states what
// happens at the edges, and test/conformance checks exactly those sentences against every backend.

/** What a backend can do natively. Callers branch on these, never on try/catch. */
export interface BackendCapabilities {
  /** deleteMany removes many keys in one request (or a few large ones), not one request per key. */
  readonly batchDelete: boolean;
  /** Most keys one deleteMany request takes natively (Infinity where there is no limit). */
  readonly maxBatchDelete: number;
  /** Objects can expire by themselves (a TTL). */
  readonly ttl: boolean;
  /** usage() reports used bytes (and total where a limit is known); without it, usage() is all nulls. */
  readonly usage: boolean;
  /** stat() and list() report an md5 for (at least some) objects. */
  readonly md5: boolean;
  /**
   * write() hands WriteOptions.md5 to the store, which refuses a body that does not match it
   * (Corrupt) and keeps what was there. A write attempt abandoned by a timeout, still sending
   * from a buffer its caller has since reused, can then never store those other bytes.
   */
  readonly checksWriteMd5: boolean;
  /** The backend (or its SDK) retries transient failures itself; the retry layer then stays out. */
  readonly nativeRetry: boolean;
  /**
   * Most calls the backend serves at once (S3: its socket pool). The layers queue further calls
   * before the deadline starts, so a call's deadline runs only once it has a slot; unset: no limit.
   */
  readonly maxInFlight?: number | undefined;
  /**
   * list() yields keys in ascending code-point order (compareKeys in keys.ts: the UTF-8 byte order
   * of an S3 or OSS listing). A folder's keys then come one after another, so per-folder listings
   * stream from one listing of their parent (src/pool/listing.ts); without it they are grouped in
   * memory.
   */
  readonly orderedList: boolean;
  /**
   * readStream() passes the store's bytes on as they arrive (and asks the store for the range
   * alone); without it, readStream() reads the whole object and yields the range from it.
   */
  readonly streamRead: boolean;
}

/** What stat() and list() report of one object. */
export interface ObjectInfo {
  /** The full key, exactly as it was written. */
  readonly key: string;
  /** Size in bytes. */
  readonly size: number;
  /** When the object was last written. */
  readonly modified: Date;
  /** Lowercase hex md5 of the content, where the backend knows it (S3/OSS single-part ETag, ...). */
  readonly md5?: string | undefined;
}

/** What a write reports of the stored object. */
export interface WriteReceipt {
  /**
   * Lowercase hex md5 of the object as the store reports holding it after the write (the ETag of
   * an S3 or OSS single-part upload), where it reports one. Comparing it with the md5 of the data
   * verifies the copy without another request.
   */
  readonly md5?: string | undefined;
}

/**
 * What every call takes. An aborted call (signal fired before or during it) rejects with a
 * StorageError: the signal's reason when that is a StorageError (the timeout layer aborts an
 * attempt with a Timeout), Interrupted otherwise (the caller gave up). It settles promptly (well
 * under a second) and, once settled, no longer uses anything it was lent (a write's data, a read's
 * `into`) and will not change the store any more, with one exception stated by the backend: a
 * command already handed to a server that runs commands of one connection in order (Redis).
 */
export interface CallOptions {
  readonly signal?: AbortSignal | undefined;
}

/** What the caller of a write may tell the backend about the data. */
export interface WriteOptions extends CallOptions {
  /**
   * Lowercase hex md5 of the data, when the caller has it anyway. Stores that check a body on
   * receipt (capabilities.checksWriteMd5: S3 and OSS, by Content-MD5) refuse a body that does not
   * match it (Corrupt); S3 then sends the body unsigned, since the signed Content-MD5 already
   * guards it, which spares a SHA-256 of every byte. Other backends ignore it.
   */
  readonly md5?: string | undefined;
}

/** What the caller of a read may offer the backend. */
export interface ReadOptions extends CallOptions {
  /**
   * A buffer the backend may read the object into instead of allocating one, when the object is
   * smaller than it; the result is then a view of its start. The caller must not change the
   * buffer while it uses the result. Backends that receive an object in pieces of their own
   * (S3, OSS, Redis) ignore it; the local one uses it.
   */
  readonly into?: Buffer | undefined;
}

/** What the caller of a streamed read may ask for. */
export interface ReadStreamOptions extends CallOptions {
  /** First byte of the range (default 0). */
  readonly start?: number | undefined;
  /** Last byte of the range, inclusive (default: the object's last). */
  readonly end?: number | undefined;
}

/** Used and total bytes; null where the backend cannot tell. */
export interface BackendUsage {
  readonly usedBytes: number | null;
  readonly totalBytes: number | null;
}

/** The outcome of deleteMany: every key asked for is in exactly one of the two lists. */
export interface DeleteManyResult {
  readonly deleted: string[];
  readonly failed: { key: string; error: Error }[];
}

export interface StorageBackend {
  /** The backend type name, as written in the config (`local`, `s3`, `oss`, `redis`). */
  readonly type: string;
  readonly capabilities: BackendCapabilities;

  /**
   * Stores `data` under `key`, replacing any object there. Atomic: a reader sees either the old
   * object, or the whole new one, never part of it; a failed or interrupted write leaves no partial
   * object under `key`. Missing parent folders are created. Throws InvalidKey for an unsafe key.
   */
  write(key: string, data: Uint8Array, options?: WriteOptions): Promise<WriteReceipt>;

  /** The whole object. Throws a NotFound StorageError when there is no object under `key`. */
  read(key: string, options?: ReadOptions): Promise<Buffer>;

  /** Removes the object. Deleting a key that does not exist succeeds. */
  delete(key: string, options?: CallOptions): Promise<void>;

  /**
   * Removes every key given, in as few requests as the backend allows (see capabilities). Missing
   * keys count as deleted. Failures are reported per key in the result, not thrown; it throws only
   * when it could not try at all.
   */
  deleteMany(keys: readonly string[], options?: CallOptions): Promise<DeleteManyResult>;

  /**
   * Every object whose key starts with `prefix`, at any depth, as full keys with their size and
   * modified time, streamed page by page so a listing of millions is never held at once. `prefix`
   * is '' (everything) or a folder ending in `/`. A prefix with nothing under it yields nothing.
   * The order is that of the keys (compareKeys) where capabilities.orderedList, unspecified
   * otherwise. Keys under RESERVED_PREFIX and temporary files are never yielded.
   * A listing that fails part way throws; it never ends early as if it were complete. The signal
   * covers the whole walk: once it fires, the pending page rejects as any aborted call does.
   */
  list(prefix: string, options?: CallOptions): AsyncIterable<ObjectInfo>;

  /**
   * Optional: the same listing as list(), one page of entries (as the store answers them) per
   * item. Where a backend has it, the layers work around each page instead of each entry (a
   * deadline and an in-flight slot per request, not per key: a third of an S3 listing's CPU).
   */
  listPages?(prefix: string, options?: CallOptions): AsyncIterable<ObjectInfo[]>;

  /**
   * The object's bytes from `start` to `end` (inclusive), in chunks as they arrive, so that a large
   * object is never held whole where capabilities.streamRead (elsewhere the whole object is read
   * and the range cut from it). A range reaching past the end yields the bytes there are. Throws
   * NotFound, from the first chunk, when there is no object. Ending the iteration early releases
   * the request. The signal covers the whole read, as for a listing.
   */
  readStream(key: string, options?: ReadStreamOptions): AsyncIterable<Uint8Array>;

  /**
   * True when an object exists under `key`, false only when it does not. Any other failure
   * (network, permission, timeout) throws: "could not tell" never reads as "absent".
   */
  exists(key: string, options?: CallOptions): Promise<boolean>;

  /** Size, modified time and md5 where known. Throws NotFound when there is no object. */
  stat(key: string, options?: CallOptions): Promise<ObjectInfo>;

  /** Used and total bytes, or nulls where unknown (never blocks writes). */
  usage(options?: CallOptions): Promise<BackendUsage>;

  /**
   * Releases connections and clients, destroying sockets still open, so a process can exit at
   * once. Safe to call twice; no method is called after it.
   */
  close(): Promise<void>;
}

/** Every backend's factory receives its validated options and this. */
export interface BackendContext {
  /** The pool's name, for error messages. */
  readonly poolName: string;
  /** Folder that relative paths in the options are resolved against (the config file's folder). */
  readonly baseDir: string;
  /**
   * The pool's deadline of one attempt (the timeout layer's), when the backend is built for a pool:
   * a backend fits its own timers (an SDK's request timeout) inside it.
   */
  readonly timeoutMs?: number | undefined;
}
