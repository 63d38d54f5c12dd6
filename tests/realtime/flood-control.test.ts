// The token buckets behind "slow down", on a controlled clock, and the CSV cell quoting of the poll export.
import { describe, expect, it } from 'vitest';
import { FloodControl } from '../../server/interaction/flood-control.ts';
import { csvCell } from '../../server/csv.ts';

describe('FloodControl', () => {
  it('allows the burst, refuses with the time until the next token, and refills at the steady rate', () => {
    let clock = 1_000_000;
    const flood = new FloodControl({ now: () => clock });
    const rule = { capacity: 3, refillPerSecond: 2 };
    expect([1, 2, 3].map(() => flood.take('a', rule).allowed)).toEqual([true, true, true]);
    expect(flood.take('a', rule)).toEqual({ allowed: false, retryAfterMs: 500 });
    expect(flood.take('b', rule).allowed).toBe(true); // buckets are per key
    clock += 250;
    expect(flood.take('a', rule)).toEqual({ allowed: false, retryAfterMs: 250 });
    clock += 250;
    expect(flood.take('a', rule).allowed).toBe(true);
    expect(flood.take('a', rule).allowed).toBe(false);
    clock += 60_000; // a long pause refills to the capacity, not beyond
    expect([1, 2, 3, 4].map(() => flood.take('a', rule).allowed)).toEqual([true, true, true, false]);
    flood.close();
    expect(flood.closed).toBe(true);
    expect(flood.size).toBe(0);
  });
});

describe('csvCell', () => {
  it('quotes separators and quotes, and defuses spreadsheet formulas', () => {
    expect(csvCell('plain')).toBe('plain');
    expect(csvCell('a, b')).toBe('"a, b"');
    expect(csvCell('say "hi"')).toBe('"say ""hi"""');
    expect(csvCell('line\nbreak')).toBe('"line\nbreak"');
    expect(csvCell('=1+1')).toBe("'=1+1");
    expect(csvCell('+cmd')).toBe("'+cmd");
    expect(csvCell('@SUM(A1)')).toBe("'@SUM(A1)");
    expect(csvCell('=HYPERLINK("x")')).toBe(`"'=HYPERLINK(""x"")"`);
    // Numbers are data, not formulas; an empty cell is empty.
    expect(csvCell(-5)).toBe('-5');
    expect(csvCell(null)).toBe('');
  });
});
