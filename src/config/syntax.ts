// Config files that cannot be parsed: the place (line and column) and the parser's reason, never
// an excerpt of the file. A config can hold a secret written without quotes, and JSON.parse, YAML
// and JavaScript parsers all quote the text around an error in their messages.

import { StorageError } from '../errors.js';

/** jsonc-parser's error codes (ParseErrorCode) in words. */
const JSON_REASONS: Record<number, string> = {
  1: 'unexpected characters (a text value must be in double quotes)',
  2: 'invalid number',
  3: 'a property name in double quotes was expected',
  4: 'a value was expected',
  5: 'a colon was expected',
  6: 'a comma was expected',
  7: 'a closing brace was expected',
  8: 'a closing bracket was expected',
  9: 'the file should end after the top-level value',
  10: 'comments are not allowed in JSON',
  11: 'a comment is not closed',
  12: 'a string is not closed',
  13: 'a number is not finished',
  14: 'invalid unicode escape',
  15: 'invalid escape character in a string',
  16: 'invalid character in a string',
};

/** Line and column (both from 1) of a character offset in `text`. */
export function lineAndColumn(text: string, offset: number): { line: number; column: number } {
  let line = 1;
  let start = 0;
  for (let i = text.indexOf('\n'); i !== -1 && i < offset; i = text.indexOf('\n', i + 1)) {
    line++;
    start = i + 1;
  }
  return { line, column: offset - start + 1 };
}

/**
 * `text` parsed as JSON; a ConfigInvalid error naming `source`, the line, the column and the
 * reason when it is not JSON. jsonc-parser (strict: no comments, no trailing commas) locates the
 * error, since JSON.parse's own message quotes the text around it.
 */
export async function parseJsonText(text: string, source: string): Promise<unknown> {
  try {
    return JSON.parse(text) as unknown;
  } catch (error) {
    // The ES module build: the package's main is a UMD file whose require() calls esbuild cannot bundle.
    const { parse } = await import('jsonc-parser/lib/esm/main.js');
    const errors: import('jsonc-parser/lib/esm/main.js').ParseError[] = [];
    parse(text, errors, { disallowComments: true, allowTrailingComma: false, allowEmptyContent: false });
    const first = errors[0];
    if (first === undefined) throw new StorageError('ConfigInvalid', `${source}: not valid JSON`, { cause: error });
    const { line, column } = lineAndColumn(text, first.offset);
    throw new StorageError('ConfigInvalid', `${source}:${line}:${column}: not valid JSON: ${JSON_REASONS[first.error] ?? 'syntax error'}`, { cause: error });
  }
}

/**
 * A loader's error (cosmiconfig's YAML and JavaScript loaders) as a one-line ConfigInvalid error
 * with line, column and reason where the parser gives them, and without the parser's message,
 * which quotes the file.
 */
export function loaderError(error: unknown, source: string): StorageError {
  if (error instanceof StorageError) return error;
  // js-yaml's YAMLException: `reason` is the parser's reason alone, `mark` the place (from 0).
  const yaml = error as { name?: unknown; reason?: unknown; mark?: { line?: unknown; column?: unknown } };
  if (yaml.name === 'YAMLException' && typeof yaml.reason === 'string' && typeof yaml.mark?.line === 'number' && typeof yaml.mark.column === 'number') {
    return new StorageError('ConfigInvalid', `${source}:${yaml.mark.line + 1}:${yaml.mark.column + 1}: not valid YAML: ${yaml.reason}`, { cause: error });
  }
  if (error instanceof SyntaxError) {
    // V8 names the token it did not expect ("Unexpected identifier 'hunter2'"): only the place is kept.
    const place = /:(\d+)(?::(\d+))?\s*$/m.exec((error.stack ?? '').split('\n')[0] ?? '');
    const where = place === null ? '' : `:${place[1]}${place[2] === undefined ? '' : `:${place[2]}`}`;
    return new StorageError('ConfigInvalid', `${source}${where}: not valid JavaScript (a syntax error)`, { cause: error });
  }
  const code = typeof (error as { code?: unknown }).code === 'string' ? ` (${(error as { code: string }).code})` : '';
  return new StorageError('ConfigInvalid', `${source}: cannot be loaded${code}: ${error instanceof Error ? error.name : 'error'}`, { cause: error });
}
