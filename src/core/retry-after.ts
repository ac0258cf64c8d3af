/** Reads how long the upstream asked us to wait, from the headers providers actually send. */

type HeaderGetter = { get(name: string): string | null };

/** "1s", "6m0s", "20ms", "1h2m3.5s" (OpenAI's x-ratelimit-reset-*) or "30s" (Gemini's retryDelay). */
export function parseGoDuration(text: string): number | undefined {
  const re = /(\d+(?:\.\d+)?)(ms|h|m|s)/g;
  let total = 0;
  let matched = '';
  for (const m of text.matchAll(re)) {
    const value = Number(m[1]);
    const unit = m[2];
    total += unit === 'h' ? value * 3_600_000 : unit === 'm' ? value * 60_000 : unit === 's' ? value * 1000 : value;
    matched += m[0];
  }
  return matched.length > 0 && matched === text.trim() ? total : undefined;
}

function fromRetryAfter(value: string, now: number): number | undefined {
  const trimmed = value.trim();
  if (/^\d+(\.\d+)?$/.test(trimmed)) return Number(trimmed) * 1000;
  const date = Date.parse(trimmed);
  return Number.isNaN(date) ? undefined : Math.max(0, date - now);
}

function fromResetTimestamp(value: string, now: number): number | undefined {
  const date = Date.parse(value);
  return Number.isNaN(date) ? undefined : Math.max(0, date - now);
}

/**
 * Order: `retry-after-ms`, `retry-after` (seconds or HTTP date), then provider reset headers
 * (OpenAI `x-ratelimit-reset-*` durations, Anthropic `anthropic-ratelimit-*-reset` timestamps).
 */
export function retryAfterMsFromHeaders(headers: HeaderGetter, now = Date.now()): number | undefined {
  const ms = headers.get('retry-after-ms');
  if (ms && /^\d+(\.\d+)?$/.test(ms.trim())) return Number(ms);
  const ra = headers.get('retry-after');
  if (ra) {
    const parsed = fromRetryAfter(ra, now);
    if (parsed !== undefined) return parsed;
  }
  const resets = ['x-ratelimit-reset-requests', 'x-ratelimit-reset-tokens']
    .map((h) => headers.get(h))
    .filter((v): v is string => !!v)
    .map((v) => parseGoDuration(v) ?? fromRetryAfter(v, now))
    .filter((v): v is number => v !== undefined);
  const anthropic = ['anthropic-ratelimit-requests-reset', 'anthropic-ratelimit-tokens-reset']
    .map((h) => headers.get(h))
    .filter((v): v is string => !!v)
    .map((v) => fromResetTimestamp(v, now))
    .filter((v): v is number => v !== undefined);
  const all = [...resets, ...anthropic];
  return all.length > 0 ? Math.max(...all) : undefined;
}
