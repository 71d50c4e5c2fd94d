// Finding and loading the config: --config, then FLUX_STORAGE_CONFIG, then a search of the working
// directory (CONFIG_SEARCH_PLACES, in order); with none, the embedded default (one local pool under
// ./flux-data). Errors are one line naming the file and field, and never quote the file.

import { existsSync, readFileSync } from 'node:fs';
import * as v from 'valibot';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { StorageError } from '../errors.js';
import { interpolate } from './interpolate.js';
import { Redactor } from './redact.js';
import { isFilesystemRoot } from '../backends/local/options.js';
import { exampleConfigPath } from './example.js';
import { configSchema, describeIssue, formatPath, layoutOf, type FluxConfig } from './schema.js';
import { loaderError, parseJsonText } from './syntax.js';

/** The key of a package.json that holds the config. */
const PACKAGE_KEY = 'flux-storage';

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

/**
 * Validates a config object (already read from a file or built in code). With `baseDir`, local
 * roots are also checked as they resolve against it (a relative root can climb to `/`).
 */
export function parseConfig(raw: unknown, env: NodeJS.ProcessEnv = process.env, source = 'config', baseDir?: string): FluxConfig {
  const nul = nulPath(raw);
  if (nul !== undefined) throw new StorageError('ConfigInvalid', `${source}: ${nul}: contains a NUL character, which no path, name or credential may hold`);
  const interpolated = interpolateOrThrow(raw, env, source);
  const nulAfter = nulPath(interpolated);
  if (nulAfter !== undefined) throw new StorageError('ConfigInvalid', `${source}: ${nulAfter}: contains a NUL character (from an environment variable)`);
  const result = v.safeParse(configSchema, interpolated);
  if (!result.success) throw new StorageError('ConfigInvalid', `${source}: ${describeIssue(result.issues)}`);
  try {
    // The names and templates: an unknown preset, a template without {stream}, an ambiguous pair.
    layoutOf(result.output);
  } catch (error) {
    if (error instanceof StorageError) throw new StorageError('ConfigInvalid', `${source}: ${error.detail}`, { cause: error });
    throw error;
  }
  if (baseDir !== undefined) {
    result.output.pools.forEach((pool, index) => {
      if (pool.backend.type === 'local' && isFilesystemRoot(path.resolve(baseDir, pool.backend.root))) {
        throw new StorageError('ConfigInvalid', `${source}: pools[${index}].backend.root: resolves to the filesystem root "/": name a folder for the segments`);
      }
    });
  }
  return result.output;
}

/** The path (as `pools[0].backend.root`) of the first key or string value holding a NUL character. */
function nulPath(value: unknown, at: (string | number)[] = []): string | undefined {
  if (typeof value === 'string') return value.includes('\0') ? formatPath(at) || '(the whole value)' : undefined;
  if (Array.isArray(value)) {
    for (const [index, item] of value.entries()) {
      const found = nulPath(item, [...at, index]);
      if (found !== undefined) return found;
    }
  } else if (typeof value === 'object' && value !== null) {
    for (const [key, item] of Object.entries(value)) {
      if (key.includes('\0')) return `${formatPath(at) || 'the top level'}: a field name`;
      const found = nulPath(item, [...at, key]);
      if (found !== undefined) return found;
    }
  }
  return undefined;
}

export async function loadConfig(options: LoadOptions = {}): Promise<LoadedConfig> {
  const env = options.env ?? process.env;
  const cwd = options.cwd ?? process.cwd();
  const explicit = options.file ?? (env.FLUX_STORAGE_CONFIG || undefined);
  let found: { config: unknown; filepath: string } | null = null;
  if (explicit !== undefined) {
    const file = path.resolve(cwd, explicit);
    if (!existsSync(file)) {
      const origin = options.file !== undefined ? '--config' : 'FLUX_STORAGE_CONFIG';
      throw new StorageError('ConfigInvalid', `config file ${explicit} (from ${origin}) does not exist: check the path`);
    }
    found = { config: await readConfigFile(file, cwd, true), filepath: file };
  } else {
    for (const name of CONFIG_SEARCH_PLACES) {
      const file = path.join(cwd, name);
      if (!existsSync(file)) continue;
      const config = await readConfigFile(file, cwd, false);
      // A package.json without a "flux-storage" key is not a config: the search goes on.
      if (config !== undefined) {
        found = { config, filepath: file };
        break;
      }
    }
  }
  if (found === null) return embeddedDefault(env, cwd);
  const source = sourceName(found.filepath, cwd);
  const baseDir = path.dirname(found.filepath);
  const config = parseConfig(found.config, env, source, baseDir);
  return { config, file: found.filepath, baseDir, redactor: Redactor.fromConfig(config) };
}

function sourceName(filepath: string, cwd: string): string {
  return path.relative(cwd, filepath) || filepath;
}

/**
 * The config object in a file; undefined for a package.json without a "flux-storage" key (unless
 * it was named explicitly). A plain JSON file is read directly: cosmiconfig and its loaders cost
 * 10-17 ms of start-up, which every command pays (measured by the start-up benchmark); YAML and
 * JavaScript files go through it.
 */
async function readConfigFile(filepath: string, cwd: string, explicit: boolean): Promise<unknown> {
  const source = sourceName(filepath, cwd);
  const empty = (): StorageError => new StorageError('ConfigInvalid', `${source}: the file is empty: see ${exampleConfigPath(cwd)}`);
  let config: unknown;
  if (filepath.endsWith('.json')) {
    let text: string;
    try {
      text = readFileSync(filepath, 'utf8').replace(/^\uFEFF/, '');
    } catch (error) {
      throw new StorageError('ConfigInvalid', `${source}: cannot be read (${errnoOf(error)})`, { cause: error });
    }
    if (text.trim() === '') throw empty();
    config = await parseJsonText(text, source);
    if (path.basename(filepath) === 'package.json') {
      const section = (config as Record<string, unknown> | null)?.[PACKAGE_KEY];
      if (section === undefined && !explicit) return undefined;
      if (section === undefined) throw new StorageError('ConfigInvalid', `${source}: has no "${PACKAGE_KEY}" key`);
      config = section;
    }
  } else if (/\.[cm]?js$/.test(filepath)) {
    // Imported directly: cosmiconfig's loader tries require() first, which on an ES module with a
    // syntax error fails with a Node internal assertion instead of the error.
    try {
      const module = (await import(pathToFileURL(filepath).href)) as { default?: unknown };
      config = module.default;
    } catch (error) {
      throw loaderError(error, source);
    }
  } else {
    const { cosmiconfig } = await import('cosmiconfig');
    const explorer = cosmiconfig(PACKAGE_KEY, { searchPlaces: CONFIG_SEARCH_PLACES, searchStrategy: 'none', cache: false });
    let result: { config: unknown; isEmpty?: boolean } | null;
    try {
      result = await explorer.load(filepath);
    } catch (error) {
      throw loaderError(error, source);
    }
    if (result === null || result.isEmpty === true) throw empty();
    config = result.config;
  }
  if (config === undefined || config === null) throw empty();
  return config;
}

function errnoOf(error: unknown): string {
  return typeof (error as { code?: unknown }).code === 'string' ? (error as { code: string }).code : 'error';
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
