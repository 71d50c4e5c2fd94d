// The README's "JSON output" block, every command of it against what the command prints: each
// documented field is there (where its parent is, an empty array having no elements to look into),
// and nothing is printed that the block does not document. Error objects (`{…}`) are the shape of
// the "On an error" paragraph, checked by the error tests. The block is read from README.md itself,
// so a field added to a command, or renamed, fails here until the README says it.

import { spawn } from 'node:child_process';
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse, type ParseError } from 'jsonc-parser';
import { beforeAll, describe, expect, it } from 'vitest';
import { makeStream } from '../support/ffmpeg.js';
import { cli, workdir } from './run.js';

const readme = fileURLToPath(new URL('../../README.md', import.meta.url));
const bin = fileURLToPath(new URL('../../bin/flux-storage.js', import.meta.url));

/** The documented documents of the block, by their label (`ls STREAM`, `pools status`, ...). */
async function documentedShapes(): Promise<Map<string, unknown>> {
  const text = await readFile(readme, 'utf8');
  const section = text.slice(text.indexOf('## JSON output'));
  const block = /```jsonc\n([\s\S]*?)\n```/.exec(section)![1]!;
  const entries: { label: string; lines: string[] }[] = [];
  for (const line of block.split('\n')) {
    if (line.startsWith('//')) {
      // A comment after a document starts the next entry; one right after a label continues it.
      const current = entries.at(-1);
      if (current === undefined || current.lines.length > 0) entries.push({ label: line.slice(2).trim(), lines: [] });
      continue;
    }
    entries.at(-1)!.lines.push(line);
  }
  const shapes = new Map<string, unknown>();
  for (const { label, lines } of entries) {
    const name = label.replace(/\s*\(.*$/, '').trim();
    const source = lines
      .map((line) => line.replace(/\s+\/\/\s.*$/, ''))
      .join('\n')
      .replace(/\{\s*…\s*\}/g, '{}')
      .replace(/,\s*…\s*\]/g, ']');
    const errors: ParseError[] = [];
    const value = parse(source, errors, { allowTrailingComma: true });
    expect(errors, `the README's JSON of "${name}" does not parse:\n${source}`).toEqual([]);
    shapes.set(name, value);
  }
  return shapes;
}

/**
 * Every field path of a document: `streams[].segments`, ... An empty object (`{…}` in the README,
 * an error) is a leaf: its fields are not looked into.
 */
function fieldPaths(value: unknown, prefix = '', into: Map<string, unknown> = new Map()): Map<string, unknown> {
  if (Array.isArray(value)) {
    for (const item of value) fieldPaths(item, `${prefix}[]`, into);
  } else if (typeof value === 'object' && value !== null) {
    for (const [key, item] of Object.entries(value)) {
      const at = prefix === '' ? key : `${prefix}.${key}`;
      into.set(at, item);
      if (!(typeof item === 'object' && item !== null && !Array.isArray(item) && Object.keys(item).length === 0)) fieldPaths(item, at, into);
    }
  }
  return into;
}

/** The documented paths absent from the output (where their parent is there), and the printed ones the README does not name. */
function compare(documented: unknown, actual: unknown): { missing: string[]; undocumented: string[] } {
  const doc = fieldPaths(documented);
  const out = fieldPaths(actual);
  const parentOf = (p: string): string => p.replace(/(\[\])?\.[^.]+$|\[\]$/, '');
  const present = (p: string): boolean => {
    const parent = parentOf(p);
    if (parent === p || parent === '') return true;
    // The parent is printed, and is not an empty array or null (nothing to look into).
    if (!out.has(parent.replace(/\[\]$/, ''))) return false;
    const value = out.get(parent.replace(/\[\]$/, ''));
    return !(value === null || (Array.isArray(value) && value.length === 0));
  };
  const opaque = [...doc].filter(([, v]) => typeof v === 'object' && v !== null && !Array.isArray(v) && Object.keys(v).length === 0).map(([p]) => p);
  // A `{…}` in the README stands for an object whose fields it does not list (an error, totals).
  const underOpaque = (p: string): boolean => opaque.some((o) => p.startsWith(`${o}.`) || p.startsWith(`${o}[]`));
  // Maps keyed by names (du's pools per stream): their keys are pool names, not fields.
  const named = (p: string): string => p.replace(/\.pools\.[^.[\]]+/g, '.pools.<pool>');
  const docNamed = new Set([...doc.keys()].map(named));
  return {
    missing: [...doc.keys()].filter((p) => present(p) && !out.has(p) && ![...out.keys()].some((q) => named(q) === named(p))),
    undocumented: [...out.keys()].filter((p) => !underOpaque(p) && !docNamed.has(named(p))),
  };
}

describe('every command prints the JSON the README documents', () => {
  let shapes: Map<string, unknown>;
  let cwd: string;
  const printed = new Map<string, unknown>();

  async function run(label: string, args: string[], code = 0): Promise<void> {
    const result = await cli([...args, '--json'], { cwd });
    expect(result.code, `${args.join(' ')}: ${result.stderr}`).toBe(code);
    printed.set(label, result.json());
  }

  beforeAll(async () => {
    shapes = await documentedShapes();
    cwd = await workdir({
      pools: [
        { name: 'ssd', priority: 1, backend: { type: 'local', root: './ssd', createRoot: true, fsync: false } },
        { name: 'hdd', priority: 2, backend: { type: 'local', root: './hdd', createRoot: true, fsync: false } },
      ],
    });
    const stream = await makeStream(path.join(cwd, 'made'), { segment: 'segment_%d.ts', playlist: 'index.m3u8', seconds: 8 });
    const files = (await readdir(stream.dir)).filter((f) => f.endsWith('.ts')).map((f) => path.join('made', f));
    await run('put', ['put', 'cam1', ...files, path.join('made', 'index.m3u8')]);
    await run('get -o FILE', ['get', 'cam1', '1', '-o', 'x.ts']);
    await run('get --playlist', ['get', 'cam1', '--playlist']);
    await run('ls', ['ls']);
    await run('ls STREAM', ['ls', 'cam1']);
    await run('completion SHELL', ['completion', 'bash']);
    await run('pools status', ['pools', 'status']);
    await run('verify', ['verify', 'cam1']);
    await run('du', ['du']);
    await run('playlist -o FILE', ['playlist', 'cam1', '-o', 'incident.m3u8']);
    await run('migrate', ['migrate', '--from', 'ssd', '--to', 'hdd']);
    await run('cleanup', ['cleanup', 'cam1', '--keep', '2']);
    // With a range that holds nothing, so that "emptyRanges" is printed (exit 3: one range was empty).
    await run('rm', ['rm', 'cam1', '0', '100-200'], 3);
    expect((await cli(['put', 'cam7', files[0]!, '--id', '0'], { cwd })).code).toBe(0);
    await run('purge', ['purge', 'cam7']);
    // serve prints its document once it listens.
    const child = spawn(process.execPath, [bin, 'serve', '--port', '0', '--json'], { cwd, env: { PATH: process.env.PATH }, stdio: ['ignore', 'pipe', 'pipe'] });
    const first = await new Promise<string>((resolve, reject) => {
      let out = '';
      child.stdout.on('data', (chunk: Buffer) => {
        out += chunk.toString();
        // One JSON document, pretty-printed: complete once it parses.
        try {
          JSON.parse(out);
          resolve(out);
        } catch {
          // more to come
        }
      });
      child.once('exit', (code) => reject(new Error(`serve exited ${code}`)));
    });
    child.kill('SIGTERM');
    printed.set('serve', JSON.parse(first));
  }, 180_000);

  it('documents a document for each command, and each was printed', () => {
    expect([...shapes.keys()].sort()).toEqual([...printed.keys()].sort());
  });

  it.each([
    'put',
    'get -o FILE',
    'get --playlist',
    'ls',
    'ls STREAM',
    'rm',
    'purge',
    'completion SHELL',
    'pools status',
    'cleanup',
    'migrate',
    'verify',
    'du',
    'playlist -o FILE',
    'serve',
  ])('%s', (label) => {
    expect(shapes.has(label), `README documents "${label}"`).toBe(true);
    expect(compare(shapes.get(label), printed.get(label))).toEqual({ missing: [], undocumented: [] });
  });
});
