// Finding and loading the config: --config, then FLUX_STORAGE_CONFIG, then cosmiconfig's search of
// the working directory; with none, the embedded default (one local pool under ./flux-data).

import { existsSync, readFileSync } from 'node:fs';
import * as v from 'valibot';
import path from 'node:path';
import { StorageError } from '../errors.js';
import { interpolate } from './interpolate.js';
import { Redactor } from './redact.js';
import { configSchema, describeIssue, type FluxConfig } from './schema.js';

export const CONFIG_SEARCH_PLACES = [
  'storage.config.json',
  'package.json',
  '.flux-storagerc',
  '.flux-storagerc.json',
  '.flux-storagerc.yaml',
  '.flux-storagerc.yml',
  '.flux-storagerc.js',
  '.flux-storagerc.mjs',
  'flux-storage.config.js',
  'flux-storage.config.mjs',
];

export interface LoadedConfig {
  config: FluxConfig;
  /** The file it came from, or null for the embedded default. */
  file: string | null;
  /** Folder that relative paths in the config resolve against. */
  baseDir: string;
  redactor: Redactor;
}

export interface LoadOptions {
  /** An explicit file (--config). */
  file?: string | undefined;
  cwd?: string;
  env?: NodeJS.ProcessEnv;
}

/** The embedded default: one local pool named `local` at ./flux-data (or FLUX_STORAGE_ROOT). */
export function defaultConfig(env: NodeJS.ProcessEnv = process.env): unknown {
  // The one root that is created when missing: a configured root must exist (createRoot aside).
  return { pools: [{ name: 'local', priority: 1, backend: { type: 'local', root: env.FLUX_STORAGE_ROOT || './flux-data', createRoot: true } }] };
}

/** Validates a config object (already read from a file or built in code). */
export function parseConfig(raw: unknown, env: NodeJS.ProcessEnv = process.env, source = 'config'): FluxConfig {
  const result = v.safeParse(configSchema, interpolateOrThrow(raw, env, source));
  if (!result.success) throw new StorageError('ConfigInvalid', `${source}: ${describeIssue(result.issues)}`);
  return result.output;
}

export async function loadConfig(options: LoadOptions = {}): Promise<LoadedConfig> {
  const env = options.env ?? process.env;
  const cwd = options.cwd ?? process.cwd();
  const explicit = options.file ?? (env.FLUX_STORAGE_CONFIG || undefined);
  const file = explicit === undefined ? undefined : path.resolve(cwd, explicit);
  if (explicit !== undefined && !existsSync(file!)) {
    const origin = options.file !== undefined ? '--config' : 'FLUX_STORAGE_CONFIG';
    throw new StorageError('ConfigInvalid', `config file ${explicit} (from ${origin}) does not exist: check the path`);
  }
  const firstCandidate = CONFIG_SEARCH_PLACES.find((name) => existsSync(path.join(cwd, name)));
  // With no candidate file at all, the embedded default needs no search (nor cosmiconfig's import).
  if (file === undefined && firstCandidate === undefined) return embeddedDefault(env, cwd);
  let found: { config: unknown; filepath: string; isEmpty?: boolean } | null;
  try {
    // A plain JSON file is read directly: cosmiconfig and its loaders cost 10-17 ms of start-up,
    // which every command pays (measured by the start-up benchmark). Other formats go through it.
    const target = file ?? path.join(cwd, firstCandidate!);
    if (target.endsWith('.json') && path.basename(target) !== 'package.json') {
      found = readJsonConfig(target);
    } else {
      const { cosmiconfig } = await import('cosmiconfig');
      const explorer = cosmiconfig('flux-storage', { searchPlaces: CONFIG_SEARCH_PLACES, searchStrategy: 'none', cache: false });
      found = file !== undefined ? await explorer.load(file) : await explorer.search(cwd);
    }
  } catch (error) {
    if (error instanceof StorageError) throw error;
    const message = (error instanceof Error ? error.message : String(error)).split('\n')[0];
    throw new StorageError('ConfigInvalid', `cannot read the config: ${message}`, { cause: error });
  }
  if (found === null) return embeddedDefault(env, cwd);
  const source = path.relative(cwd, found.filepath) || found.filepath;
  if (found.isEmpty === true || found.config === undefined || found.config === null) {
    throw new StorageError('ConfigInvalid', `${source}: the file is empty: see storage.config.example.json`);
  }
  const config = parseConfig(found.config, env, source);
  return { config, file: found.filepath, baseDir: path.dirname(found.filepath), redactor: Redactor.fromConfig(config) };
}

function readJsonConfig(filepath: string): { config: unknown; filepath: string; isEmpty: boolean } {
  const text = readFileSync(filepath, 'utf8');
  if (text.trim() === '') return { config: undefined, filepath, isEmpty: true };
  try {
    return { config: JSON.parse(text) as unknown, filepath, isEmpty: false };
  } catch (error) {
    throw new StorageError('ConfigInvalid', `cannot read the config: ${filepath} is not valid JSON (${(error as Error).message})`, { cause: error });
  }
}

function embeddedDefault(env: NodeJS.ProcessEnv, cwd: string): LoadedConfig {
  const raw = defaultConfig(env);
  return { config: parseConfig(raw, env, 'default config'), file: null, baseDir: cwd, redactor: Redactor.fromConfig(raw) };
}

function interpolateOrThrow(raw: unknown, env: NodeJS.ProcessEnv, source: string): unknown {
  try {
    return interpolate(raw, env);
  } catch (error) {
    if (error instanceof StorageError) throw new StorageError(error.code, `${source}: ${error.detail}`);
    throw error;
  }
}
