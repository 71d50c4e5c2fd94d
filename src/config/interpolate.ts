// ${VAR} (and ${VAR:-default}) in config values, taken from the environment, so that secrets stay
// out of the file.

import { StorageError } from '../errors.js';
import { formatPath } from './schema.js';

const REFERENCE = /\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}/g;

export function interpolate(value: unknown, env: NodeJS.ProcessEnv, path: (string | number)[] = []): unknown {
  if (typeof value === 'string') {
    return value.replace(REFERENCE, (_, name: string, fallback: string | undefined) => {
      const found = env[name];
      if (found !== undefined && found !== '') return found;
      if (fallback !== undefined) return fallback;
      throw new StorageError('ConfigInvalid', `${formatPath(path)}: environment variable ${name} is not set`);
    });
  }
  if (Array.isArray(value)) return value.map((item, index) => interpolate(item, env, [...path, index]));
  if (typeof value === 'object' && value !== null) {
    return Object.fromEntries(Object.entries(value).map(([key, item]) => [key, interpolate(item, env, [...path, key])]));
  }
  return value;
}
