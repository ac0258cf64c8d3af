import type { Attempt, RouteStory } from '../core/routing/types';

/** How the gateway tells its caller what happened: the `switchyard` object and x-switchyard-* headers. */

const round1 = (ms: number) => Math.round(ms * 10) / 10;

export function attemptJson(a: Attempt): Record<string, unknown> {
  const out: Record<string, unknown> = { model: a.key, provider: a.provider, outcome: a.outcome, latency_ms: round1(a.latencyMs) };
  if (a.ttftMs !== undefined) out.ttft_ms = round1(a.ttftMs);
  if (a.status !== undefined) out.status = a.status;
  if (a.message) out.message = a.message;
  return out;
}

/** The decision story of one answer. */
export function storyJson(story: RouteStory): Record<string, unknown> {
  const out: Record<string, unknown> = {
    requested_model: story.requestedModel,
    model: story.model,
    provider: story.provider,
    attempts: story.attempts.map(attemptJson),
    cost_usd: story.costUsd,
    cached: story.cached,
    reason: story.reason,
    latency_ms: round1(story.latencyMs),
    prefer: story.plan.prefer,
  };
  if (story.usageEstimated) out.usage_estimated = true;
  if (story.ttftMs !== undefined) out.ttft_ms = round1(story.ttftMs);
  if (story.plan.rule) out.rule = story.plan.rule;
  return out;
}

/** Cost as a plain decimal string (never exponent notation). */
export function formatUsd(usd: number): string {
  return usd.toFixed(8).replace(/\.?0+$/, '') || '0';
}

/** Headers known once the answer is complete. */
export function storyHeaders(story: RouteStory): Record<string, string> {
  return {
    'x-switchyard-model': story.model,
    'x-switchyard-provider': story.provider,
    'x-switchyard-attempts': String(story.attempts.length),
    'x-switchyard-cost-usd': formatUsd(story.costUsd),
    'x-switchyard-cache': story.cached ? 'hit' : 'miss',
  };
}

const failedAttempts = new WeakMap<object, Attempt[]>();

/** Remembers the attempts behind an error (the routing engine reports them in its `failure` event). */
export function rememberAttempts(err: object, attempts: Attempt[]): void {
  failedAttempts.set(err, attempts);
}

/** The attempts a failed routed call made, when known. */
export function attemptsOf(err: unknown): Attempt[] | undefined {
  if (!err || typeof err !== 'object') return undefined;
  const known = failedAttempts.get(err);
  if (known) return known;
  const list = (err as { attempts?: unknown }).attempts;
  return Array.isArray(list) ? (list as Attempt[]) : undefined;
}
