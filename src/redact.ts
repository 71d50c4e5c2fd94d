// Keeps secrets out of every message, error and log line: credentials in URLs, and secret values.

const URL_CREDENTIALS = /\b([a-z][a-z0-9+.-]*:\/\/)([^/@\s:]*)(:[^/@\s]*)?@/gi;
/** Shorter values are not searched for: masking two letters everywhere would garble messages. */
const MIN_SECRET_LENGTH = 4;

/** `text` with any `user:password@` of a URL, and every one of `secrets`, replaced by `***`. */
export function redactSecrets(text: string, secrets: Iterable<string | undefined>): string {
  let out = text.replace(URL_CREDENTIALS, (_, scheme: string, user: string, password: string | undefined) =>
    password === undefined && user === '' ? `${scheme}@` : `${scheme}***@`,
  );
  // Longest first, so that a secret containing another is masked whole.
  const values = [...new Set(secrets)].filter((s): s is string => s !== undefined && s.length >= MIN_SECRET_LENGTH);
  for (const secret of values.sort((a, b) => b.length - a.length)) out = out.split(secret).join('***');
  return out;
}

/** Every credential written in URLs inside `text` (the user and password of `scheme://user:pass@`). */
export function urlCredentials(text: string): string[] {
  const found: string[] = [];
  for (const match of text.matchAll(URL_CREDENTIALS)) {
    const password = match[3]?.slice(1);
    if (password === undefined || password === '') continue;
    found.push(password, safeDecode(password));
    if (match[2] !== undefined && match[2] !== '') found.push(match[2]);
  }
  return found;
}

function safeDecode(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}
