// The secrets of a loaded config (every value of a secret-looking field, and URL credentials), so
// that the CLI can mask them in everything it prints.

import { redactSecrets, urlCredentials } from '../redact.js';

const SECRET_FIELD = /secret|password|passwd|token|accesskeyid|credential/i;
const MASK = '***';

export class Redactor {
  private readonly secrets: string[];

  constructor(secrets: Iterable<string> = []) {
    this.secrets = [...secrets];
  }

  /** The secrets held by a config object: every string under a secret-looking field, and URL passwords. */
  static fromConfig(config: unknown): Redactor {
    const found: string[] = [];
    const walk = (value: unknown, field: string): void => {
      if (typeof value === 'string') {
        if (SECRET_FIELD.test(field)) found.push(value);
        found.push(...urlCredentials(value));
      } else if (Array.isArray(value)) value.forEach((item) => walk(item, field));
      else if (typeof value === 'object' && value !== null) {
        for (const [key, item] of Object.entries(value)) walk(item, key);
      }
    };
    walk(config, '');
    return new Redactor(found);
  }

  /**
   * A copy of a config for display: every value under a secret-looking field replaced by `***`,
   * and URL credentials masked (`redis://***@host`).
   */
  static mask<T>(config: T): T {
    const walk = (value: unknown, field: string): unknown => {
      if (typeof value === 'string') return SECRET_FIELD.test(field) ? MASK : redactSecrets(value, []);
      if (Array.isArray(value)) return value.map((item) => walk(item, field));
      if (typeof value === 'object' && value !== null) return Object.fromEntries(Object.entries(value).map(([key, item]) => [key, walk(item, key)]));
      return value;
    };
    return walk(config, '') as T;
  }

  redact(text: string): string {
    return redactSecrets(text, this.secrets);
  }
}
