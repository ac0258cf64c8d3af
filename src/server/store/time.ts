/**
 * UTC calendar helpers for budgets and usage queries.
 * Exports: `Clock`, `systemClock`, `dayStart`, `nextDayStart`, `monthStart`, `nextMonthStart`,
 * `parseTimeParam`.
 * Budgets reset at 00:00 UTC (daily) and on the 1st of the month 00:00 UTC (monthly), whatever
 * the server's local time zone, so every replica and the CLI agree on the period.
 */

/** Milliseconds since the epoch; injectable so tests control time. */
export type Clock = () => number;
export const systemClock: Clock = () => Date.now();

const DAY_MS = 86_400_000;

export function dayStart(ms: number): number {
  return Math.floor(ms / DAY_MS) * DAY_MS;
}

export function nextDayStart(ms: number): number {
  return dayStart(ms) + DAY_MS;
}

export function monthStart(ms: number): number {
  const d = new Date(ms);
  return Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), 1);
}

export function nextMonthStart(ms: number): number {
  const d = new Date(ms);
  return Date.UTC(d.getUTCFullYear(), d.getUTCMonth() + 1, 1);
}

const DATE_ONLY = /^\d{4}-\d{2}-\d{2}$/;
const DATE_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:?\d{2})$/;

/**
 * Reads a `from`/`to` bound: epoch milliseconds, an ISO date (UTC day) or an ISO date-time with a
 * zone. A date-only upper bound covers that whole day (`to=2026-11-22` includes the 22nd).
 * Returns undefined when the text is none of these.
 */
export function parseTimeParam(text: string, bound: 'from' | 'to'): number | undefined {
  const trimmed = text.trim();
  if (/^\d{1,16}$/.test(trimmed)) return Number(trimmed);
  if (DATE_ONLY.test(trimmed)) {
    const ms = Date.parse(`${trimmed}T00:00:00Z`);
    if (!Number.isFinite(ms) || new Date(ms).toISOString().slice(0, 10) !== trimmed) return undefined;
    return bound === 'to' ? ms + DAY_MS : ms;
  }
  if (DATE_TIME.test(trimmed)) {
    const ms = Date.parse(trimmed);
    return Number.isFinite(ms) ? ms : undefined;
  }
  return undefined;
}
