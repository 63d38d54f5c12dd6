// Calendar dates for tests, always relative to the clock the test runs under (tests/clock moves it to
// other days of the year), never a fixed month or year: a fixed date passes or fails with the season.

const DAY_MS = 86_400_000;

/** The UTC calendar date (YYYY-MM-DD) `days` days from now. */
export function dateInDays(days: number, now = Date.now()): string {
  return new Date(now + days * DAY_MS).toISOString().slice(0, 10);
}

/** The UTC offset ("+02:00", "-04:00", "+00:00") of `timeZone` at `instant`, from the platform's time zone data. */
export function utcOffset(timeZone: string, instant: Date): string {
  const name = new Intl.DateTimeFormat('en-US', { timeZone, timeZoneName: 'longOffset' })
    .formatToParts(instant)
    .find((p) => p.type === 'timeZoneName')!.value;
  return name === 'GMT' ? '+00:00' : name.slice(3);
}

/**
 * The first calendar date from `fromDays` days ahead on when `timeZone` is at `offset` all day (checked at
 * noon UTC; changes happen at night): e.g. the next summer-time day in Berlin, whatever today's season.
 */
export function nextDateWithOffset(timeZone: string, offset: string, fromDays = 2, now = Date.now()): string {
  for (let d = fromDays; d < fromDays + 366; d++) {
    const date = dateInDays(d, now);
    const noon = new Date(`${date}T12:00:00Z`);
    const prev = new Date(noon.getTime() - DAY_MS);
    const next = new Date(noon.getTime() + DAY_MS);
    if ([prev, noon, next].every((t) => utcOffset(timeZone, t) === offset)) return date;
  }
  throw new Error(`${timeZone} is never at ${offset} in the coming year`);
}
