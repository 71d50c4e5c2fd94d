// rm: failures grouped by cause, id ranges, playlists.

import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { cli, workdir } from './run.js';

async function segments(dir: string, ids: number[]): Promise<string[]> {
  return Promise.all(ids.map(async (id) => (await writeFile(path.join(dir, `segment_${id}.ts`), Buffer.alloc(100, id)), `segment_${id}.ts`)));
}

describe('rm', () => {
  it('reports failures one line per cause, and every failure in --json', async () => {
    const cwd = await workdir({
      pools: [
        { name: 'broken', priority: 1, backend: { type: 'local', root: './a-file' } },
        { name: 'good', priority: 2, backend: { type: 'local', root: './good', createRoot: true } },
      ],
    });
    await writeFile(path.join(cwd, 'a-file'), 'not a folder');
    const ids = [1, 2, 3, 4, 5];
    expect((await cli(['put', 'cam1', ...(await segments(cwd, ids))], { cwd })).code).toBe(0);
    const result = await cli(['rm', 'cam1', ...ids.map(String)], { cwd });
    expect(result.code).toBe(1);
    const errors = result.stderr.split('\n').filter((line) => line.startsWith('error'));
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatch(/^error: 5 segments of cam1 not deleted: Unavailable \(could not delete from broken .*\), e\.g\. 1, 2, 3 and 2 more$/);
    const json = await cli(['rm', 'cam1', ...ids.map(String), '--json'], { cwd });
    expect(json.json<{ failed: { id: number }[] }>().failed.map((f) => f.id)).toEqual(ids);
  });
});
