// Output helpers: failures grouped by cause.

import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { StorageError } from '../../src/errors.js';
import { countOf, formatCount, groupByCause, Output } from '../../src/cli/output.js';

function capture(): { out: Output; stderr: () => string } {
  const stderr = new PassThrough();
  const chunks: Buffer[] = [];
  stderr.on('data', (c: Buffer) => chunks.push(c));
  const out = new Output({ stdout: new PassThrough(), stderr, env: {}, json: false, quiet: true });
  return { out, stderr: () => Buffer.concat(chunks).toString('utf8') };
}

const timeout = (key: string) => new StorageError('Timeout', `delete ${key} did not answer within 15000 ms`, { pool: 's3', backend: 's3', key });

describe('errors grouped by cause', () => {
  it('one line per pool and cause, with the count and three examples, largest first; shown with --quiet', () => {
    const keys = Array.from({ length: 9900 }, (_, i) => `hls/cam1/segment_${i}.ts`);
    const failures = [
      { item: 'hls/cam2/segment_1.ts', error: new StorageError('PermissionDenied', 'access denied', { pool: 'oss', backend: 'oss', key: 'hls/cam2/segment_1.ts' }) },
      ...keys.map((key) => ({ item: key, error: timeout(key) })),
      { item: 'hls/cam3/segment_1.ts', error: new Error('socket hang up') },
    ];
    const { out, stderr } = capture();
    out.errorsByCause(failures, (count, pool) => `${countOf(count, 'segment')} not deleted${pool === undefined ? '' : ` from ${pool}`}`);
    expect(stderr().trimEnd().split('\n')).toEqual([
      'error: 9,900 segments not deleted from s3: Timeout (delete did not answer within 15000 ms), e.g. hls/cam1/segment_0.ts, hls/cam1/segment_1.ts, hls/cam1/segment_2.ts and 9,897 more',
      'error: 1 segment not deleted from oss: PermissionDenied (access denied), hls/cam2/segment_1.ts',
      'error: 1 segment not deleted: socket hang up, hls/cam3/segment_1.ts',
    ]);
  });

  it('the same cause in two pools is two groups; two causes in one pool are two groups', () => {
    const groups = groupByCause([
      { item: 'a', error: timeout('a') },
      { item: 'b', error: new StorageError('Timeout', 'delete b did not answer within 15000 ms', { pool: 'ssd', key: 'b' }) },
      { item: 'c', error: new StorageError('Unavailable', 'connect ECONNREFUSED', { pool: 's3', key: 'c' }) },
      { item: 'd', error: timeout('d') },
    ]);
    expect(groups.map((g) => [g.pool, g.cause, g.items])).toEqual([
      ['s3', 'Timeout (delete did not answer within 15000 ms)', ['a', 'd']],
      ['ssd', 'Timeout (delete did not answer within 15000 ms)', ['b']],
      ['s3', 'Unavailable (connect ECONNREFUSED)', ['c']],
    ]);
  });

  it('counts with thousands separators', () => {
    expect([0, 999, 1000, 9900, 1234567].map(formatCount)).toEqual(['0', '999', '1,000', '9,900', '1,234,567']);
    expect(countOf(1, 'object')).toBe('1 object');
  });
});

describe('put through the CLI', () => {
  it('a batch that fails for one reason prints one line', async () => {
    const { cli, workdir } = await import('./run.js');
    const { writeFile } = await import('node:fs/promises');
    const path = await import('node:path');
    const cwd = await workdir({ pools: [{ name: 'broken', backend: { type: 'local', root: './a-file' } }] });
    await writeFile(path.join(cwd, 'a-file'), 'not a folder');
    const files = ['segment_1.ts', 'segment_2.ts', 'segment_3.ts', 'segment_4.ts'];
    for (const file of files) await writeFile(path.join(cwd, file), 'x');
    const result = await cli(['put', 'cam1', ...files], { cwd });
    expect(result.code).toBe(1);
    const errors = result.stderr.split('\n').filter((line) => line.startsWith('error'));
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatch(/^error: 4 files not stored: Unavailable \(no pool took the write .*\), e\.g\. segment_1\.ts, segment_2\.ts, segment_3\.ts and 1 more$/);
    const json = await cli(['put', 'cam1', ...files, '--json'], { cwd });
    expect(json.json<{ segments: { error: unknown }[] }>().segments.filter((s) => s.error !== null)).toHaveLength(4);
  });
});

describe('progress off a terminal', () => {
  function offTerminal(): { out: Output; stderr: () => string } {
    const stderr = new PassThrough();
    const chunks: Buffer[] = [];
    stderr.on('data', (c: Buffer) => chunks.push(c));
    return { out: new Output({ stdout: new PassThrough(), stderr, env: {}, json: false, quiet: false }), stderr: () => Buffer.concat(chunks).toString('utf8') };
  }
  const waitFor = async (check: () => boolean): Promise<void> => {
    for (let i = 0; i < 400 && !check(); i++) await new Promise((resolve) => setTimeout(resolve, 5));
  };

  it('a job writes its latest text as a line, so that a cron log shows it is alive', async () => {
    const { out, stderr } = offTerminal();
    const progress = await out.progress('cleanup: listing…', { everyMs: 10 });
    progress.update('cleanup: 3 streams, 12 deleted');
    await waitFor(() => stderr() !== '');
    progress.stop();
    expect(stderr()).toBe('cleanup: 3 streams, 12 deleted\n');
  });

  it('a query (ls, du, pools, config) writes nothing, however long it takes', async () => {
    const { out, stderr } = offTerminal();
    const job = await out.progress('cleanup: listing…', { everyMs: 10 });
    const query = await out.progress('listing…', { everyMs: 10, lines: false });
    // The job's line is the clock: once it is written, the query had as long to write its own.
    await waitFor(() => stderr() !== '');
    await new Promise((resolve) => setTimeout(resolve, 30));
    job.stop();
    query.stop();
    expect(stderr()).toBe('cleanup: listing…\n');
  });
});
