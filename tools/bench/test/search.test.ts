/**
 * The search suite at a small size: it indexes what it generated, restores it, and every
 * query row has figures (the figures themselves are for `npm run bench`, not for a test).
 */
import { describe, expect, it } from 'vitest';
import { searchBenchmark } from '../src/search.js';

describe('search benchmark', () => {
  it('indexes, restores and queries generated messages', async () => {
    const report = await searchBenchmark({ messages: 2_000, rooms: 5 });
    expect(report.messages).toBe(2_000);
    expect(report.rooms).toBeGreaterThan(1);
    expect(report.setup).toHaveLength(4);
    expect(report.queries).toHaveLength(8);
    for (const row of report.queries) expect(row.n).toBe(300);
    // Common words are in many of the messages: the queries found something.
    expect(report.hits).toBeGreaterThan(0);
  });
});
