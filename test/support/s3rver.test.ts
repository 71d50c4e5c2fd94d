// The s3rver harness itself: a PUT is answered only once the object is whole on disk, so a test that
// reads right after a write never sees a short object.

import * as v from 'valibot';
import { createHash, randomBytes } from 'node:crypto';
import { stat } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { S3Backend } from '../../src/backends/s3/index.js';
import { s3OptionsSchema } from '../../src/backends/s3/options.js';
import { startS3Server, type S3rverTestServer } from './s3rver.js';

describe('the s3rver harness', () => {
  let server: S3rverTestServer;
  let backend: S3Backend;
  beforeAll(async () => {
    server = await startS3Server();
    backend = new S3Backend(v.parse(s3OptionsSchema, server.poolOptions()));
  });
  afterAll(async () => {
    await backend?.close();
    await server?.close();
  });

  it.each([
    ['streamed (no Content-MD5)', false],
    ['checked against its Content-MD5', true],
  ])('answers a PUT %s only when the whole object is on disk', async (_, withMd5) => {
    const data = randomBytes(24 * 1024 * 1024);
    const md5 = withMd5 ? createHash('md5').update(data).digest('hex') : undefined;
    for (let round = 0; round < 4; round += 1) {
      const key = `durable/${withMd5 ? 'md5' : 'plain'}/segment_${round}.ts`;
      await backend.write(key, data, md5 === undefined ? {} : { md5 });
      const file = path.join(server.directory, server.bucket, 'durable', withMd5 ? 'md5' : 'plain', `segment_${round}.ts._S3rver_object`);
      expect((await stat(file)).size).toBe(data.length);
    }
    expect((await backend.read(`durable/${withMd5 ? 'md5' : 'plain'}/segment_3.ts`)).equals(data)).toBe(true);
  }, 60_000);
});
