// migrate's progress line: a count while the total is unknown, then a percentage (by bytes, by
// objects when there are none) and an ETA from the pace so far.

import { describe, expect, it } from 'vitest';
import { describeProgress, formatEta } from '../../src/cli/commands/migrate.js';
import type { MigrateProgress } from '../../src/migrate/migrate.js';

const base: MigrateProgress = { listed: 0, listingDone: false, total: null, processed: 0, processedBytes: 0, copied: 0, skipped: 0, deleted: 0, failed: 0, bytes: 0, elapsedMs: 0 };

describe('migrate progress', () => {
  it('shows done/listed+ and no percentage while the total is unknown', () => {
    const line = describeProgress({ ...base, listed: 40, processed: 10, copied: 10, elapsedMs: 1000 });
    expect(line).toMatch(/^10\/40\+ done \(10 copied, 0 skipped, 0 deleted, 0 failed\)/);
    expect(line).not.toMatch(/%|ETA/);
  });

  it('shows a percentage by bytes and an ETA from the pace so far once the total is known', () => {
    const line = describeProgress({ ...base, listed: 100, total: { objects: 200, bytes: 4000 }, processed: 50, processedBytes: 1000, copied: 50, bytes: 1000, elapsedMs: 10_000 });
    expect(line).toMatch(/^25% · 50\/200 done /);
    expect(line).toMatch(/ · ETA 30 s$/);
  });

  it('goes by objects when there are no bytes, never past 100%, and drops the ETA when done', () => {
    expect(describeProgress({ ...base, total: { objects: 4, bytes: 0 }, processed: 1, elapsedMs: 2000 })).toMatch(/^25% · 1\/4 done .*ETA 6 s$/);
    const done = describeProgress({ ...base, total: { objects: 4, bytes: 10 }, processed: 5, processedBytes: 12, elapsedMs: 2000 });
    expect(done).toMatch(/^100% · 5\/5 done /);
    expect(done).not.toMatch(/ETA/);
  });

  it('formats an ETA in seconds, minutes or hours', () => {
    expect(formatEta(0)).toBe('0 s');
    expect(formatEta(59_400)).toBe('59 s');
    expect(formatEta(75_000)).toBe('1 min 15 s');
    expect(formatEta(3_600_000 + 5 * 60_000)).toBe('1 h 05 min');
  });
});
