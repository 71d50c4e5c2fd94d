// One spawn of the built binary, as a user runs it (npm test builds dist/ first).

import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { workdir } from './run.js';

const bin = fileURLToPath(new URL('../../bin/flux-storage.js', import.meta.url));

describe('the built binary', () => {
  it('puts and lists a segment, exits with the documented codes', async () => {
    expect(existsSync(fileURLToPath(new URL('../../dist/cli/main.js', import.meta.url))), 'run `npm run build` (npm test does)').toBe(true);
    const cwd = await workdir();
    await writeFile(path.join(cwd, 'segment_4.ts'), Buffer.alloc(188, 0x47));
    const run = promisify(execFile);
    const env = { PATH: process.env.PATH };
    const put = await run(process.execPath, [bin, 'put', 'cam1', 'segment_4.ts', '--json'], { cwd, env });
    expect(JSON.parse(put.stdout)).toMatchObject({ segments: [{ id: 4, pool: 'local', size: 188 }] });
    const ls = await run(process.execPath, [bin, 'ls', 'cam1', '--json'], { cwd, env });
    expect(JSON.parse(ls.stdout).segments).toHaveLength(1);
    const missing = await run(process.execPath, [bin, 'get', 'cam1', '5', '-o', 'x.ts'], { cwd, env }).catch((error: { code: number; stderr: string }) => error);
    expect(missing).toMatchObject({ code: 3 });
    expect((missing as { stderr: string }).stderr).toMatch(/error: key "hls\/cam1\/segment_5\.ts": no pool holds this object/);
  });
});
