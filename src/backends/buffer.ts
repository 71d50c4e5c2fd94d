// Bytes and digests as the SDKs want them.

/** A Buffer over the same memory, never a copy. */
export function asBuffer(data: Uint8Array): Buffer {
  return Buffer.isBuffer(data) ? data : Buffer.from(data.buffer, data.byteOffset, data.byteLength);
}

/** A Content-MD5 header value (base64) from a hex md5 (WriteOptions.md5), or undefined without one. */
export function contentMd5(md5: string | undefined): string | undefined {
  return md5 === undefined ? undefined : Buffer.from(md5, 'hex').toString('base64');
}

/** Bytes `start` to `end` (inclusive) of `data`, as readStream() takes them; a view, never a copy. */
export function rangeOf(data: Buffer, start: number | undefined, end: number | undefined): Buffer {
  return data.subarray(start ?? 0, end === undefined ? undefined : end + 1);
}
