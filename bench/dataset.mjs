// Synthetic HLS data sets for the benchmarks, under bench/.data/ (git-ignored). Each set is a local
// pool root: <root>/hls/<stream>/segment_<id>.ts. Files are random-ish: one random buffer shared by
// all, with a per-file header (set, stream, id) so that no two files are equal. A set is made again
// only when its description (bench/.data/<name>.json) differs.

import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { DATA, log } from './lib.mjs';

let shared;
function body(size, label) {
  if (!shared || shared.length < size) shared = randomBytes(Math.max(size, 1 << 20));
  const buf = Buffer.from(shared.subarray(0, size));
  buf.write(`${label}\n`.padEnd(Math.min(64, size), '#'), 0, 'latin1');
  return buf;
}

/**
 * Ensures the set `name`: `streams` streams (names from `streamName(i)`), `perStream` segments each
 * of `size` bytes. Returns { root, files, bytes, streams: [names] }.
 */
export async function ensureSet(name, { streams, perStream, size, streamName = (i) => `s${i}` }) {
  const root = path.join(DATA, name);
  const marker = path.join(DATA, `${name}.json`);
  const names = Array.from({ length: streams }, (_, i) => streamName(i));
  const spec = JSON.stringify({ version: 1, names, perStream, size });
  const info = { root, files: streams * perStream, bytes: streams * perStream * size, streams: names };
  if (existsSync(marker) && readFileSync(marker, 'utf8') === spec) return info;
  log(`making data set ${name}: ${streams}×${perStream} files of ${size} bytes`);
  await rm(root, { recursive: true, force: true });
  for (const stream of names) {
    const dir = path.join(root, 'hls', stream);
    await mkdir(dir, { recursive: true });
    const batch = 64;
    for (let start = 0; start < perStream; start += batch) {
      const writes = [];
      for (let id = start; id < Math.min(perStream, start + batch); id++) {
        writes.push(writeFile(path.join(dir, `segment_${id}.ts`), body(size, `${name}/${stream}/${id}`)));
      }
      await Promise.all(writes);
    }
  }
  await writeFile(marker, spec);
  return info;
}
