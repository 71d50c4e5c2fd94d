// Fails when a backend type has no test file that runs the conformance suite.

import { existsSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { BACKEND_TYPES } from '../../src/backends/registry.js';

describe('conformance coverage', () => {
  it.each(BACKEND_TYPES)('the %s backend runs the conformance suite', (type) => {
    const file = new URL(`../backends/${type}.test.ts`, import.meta.url);
    expect(existsSync(file), `test/backends/${type}.test.ts is missing`).toBe(true);
    expect(readFileSync(file, 'utf8')).toMatch(new RegExp(`runConformance\\(\\s*'${type}'`));
  });
});
