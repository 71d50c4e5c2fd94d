// Keeps secrets out of output, errors and logs: credentials in URLs, and every value of a field that
// holds a secret in the loaded config.

const SECRET_FIELD = /secret|password|passwd|token|accesskeyid|credential/i;
const URL_CREDENTIALS = /\b([a-z][a-z0-9+.-]*:\/\/)([^/@\s:]*)(:[^/@\s]*)?@/gi;

export class Redactor {
  private readonly secrets: string[];

  constructor(secrets: Iterable<string> = []) {
    // Longest first, so that a secret containing another is masked whole.
    this.secrets = [...new Set(secrets)].filter((s) => s.length >= 4).sort((a, b) => b.length - a.length);
  }

  /** The secrets held by a config object: every string under a secret-looking field, and URL passwords. */
  static fromConfig(config: unknown): Redactor {
    const found: string[] = [];
    const walk = (value: unknown, field: string): void => {
      if (typeof value === 'string') {
        if (SECRET_FIELD.test(field)) found.push(value);
        for (const match of value.matchAll(URL_CREDENTIALS)) {
          if (match[3] !== undefined && match[3].length > 1) found.push(decodeURIComponentSafe(match[3].slice(1)), match[3].slice(1));
          if (match[2] !== undefined && match[2].length > 0 && match[3] !== undefined) found.push(match[2]);
        }
      } else if (Array.isArray(value)) value.forEach((item) => walk(item, field));
      else if (typeof value === 'object' && value !== null) {
        for (const [key, item] of Object.entries(value)) walk(item, key);
      }
    };
    walk(config, '');
    return new Redactor(found);
  }

  redact(text: string): string {
    let out = text.replace(URL_CREDENTIALS, (_, scheme: string, user: string, password: string | undefined) =>
      password === undefined && user === '' ? `${scheme}@` : `${scheme}***@`,
    );
    for (const secret of this.secrets) out = out.split(secret).join('***');
    return out;
  }
}

function decodeURIComponentSafe(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}
