/**
 * Zapier stops an action after 30 s (editor tests included). One step, fallbacks and the
 * repair call included, must end well before that, so every step works against one deadline.
 */
export const STEP_DEADLINE_MS = 25_000;

/** A repair call is not started with less time than this left: it would only time out. */
export const MIN_CALL_BUDGET_MS = 4_000;

/** An abandoned first byte leaves time to try the next candidate within the step deadline. */
export const STEP_MAX_TTFT_MS = 20_000;

/** Longest wait between retries on one model; a longer Retry-After falls back instead. */
export const DIRECT_BACKOFF_MAX_MS = 2_000;

/** The auth test's calls (list models) must answer within this. */
export const AUTH_TEST_TIMEOUT_MS = 10_000;

/** The time left until a fixed point, read from an injectable clock. */
export class Deadline {
  readonly at: number;

  constructor(
    budgetMs: number,
    private readonly now: () => number = Date.now,
  ) {
    this.at = now() + budgetMs;
  }

  remainingMs(): number {
    return Math.max(0, this.at - this.now());
  }
}
