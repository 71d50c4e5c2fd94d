// describe() for suites that need a server installed from Debian (redis-server, Ceph): without it
// the suite fails on CI with the install hint (CI must never skip), and is skipped elsewhere,
// printing the same hint.

import { describe, it } from 'vitest';

export function onCi(): boolean {
  const ci = process.env.CI;
  return ci !== undefined && ci !== '' && ci !== '0' && ci.toLowerCase() !== 'false';
}

export function describeIfInstalled(installed: boolean, hint: string, name: string, body: () => void): void {
  if (installed) {
    describe(name, body);
  } else if (onCi()) {
    describe(name, () => {
      it('needs what it tests against', () => {
        throw new Error(hint);
      });
    });
  } else {
    console.warn(`skipping "${name}": ${hint}`);
    describe.skip(name, body);
  }
}
