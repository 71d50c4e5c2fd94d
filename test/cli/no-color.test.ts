// "NO_COLOR is honoured": the built binary at a real terminal (a pty) paints its table header, pool
// health, spinner and error label; with NO_COLOR set it prints no colour or style sequence at all.

import { describe, expect, it } from 'vitest';
import { cli, workdir } from './run.js';
import { inTerminal } from './terminal.js';

/** An SGR sequence (colour, bold): what NO_COLOR turns off. Cursor movement is not one. */
const STYLE = /\x1b\[[0-9;]*m/;

async function screens(env: NodeJS.ProcessEnv): Promise<string[]> {
  const cwd = await workdir({ pools: [{ name: 'disk', backend: { type: 'local', root: './disk', createRoot: true } }] });
  expect((await cli(['put', 'cam1', '-', '--id', '1'], { cwd, stdin: Buffer.alloc(188, 0x47) })).code).toBe(0);
  const runs = [['ls'], ['pools', 'status'], ['get', 'cam1', '9', '-o', 'x.ts']];
  const shown: string[] = [];
  for (const args of runs) shown.push((await inTerminal(args, { cwd, env }).done).screen);
  return shown;
}

describe('NO_COLOR', () => {
  it('without it, a terminal gets colour and bold (table header, health, spinner, "error:")', async () => {
    const [ls, status, missing] = await screens({});
    expect(ls).toMatch(/\x1b\[1mSTREAM/);
    expect(status).toMatch(/\x1b\[32mhealthy/);
    expect(missing).toMatch(/\x1b\[31merror:/);
    expect(ls).toMatch(/\x1b\[36m/); // ora's cyan spinner frame
  }, 60_000);

  it('with NO_COLOR=1, nothing on the terminal is coloured or styled', async () => {
    for (const screen of await screens({ NO_COLOR: '1' })) {
      expect(screen).not.toMatch(STYLE);
      expect(screen).toMatch(/STREAM|healthy|error:/);
    }
  }, 60_000);
});
