import { ObjectMark } from '../marks';
import type { Usage } from '../schema';
import type { CallState } from './attempt';
import { costUsd } from './cost';
import type { Attempt, CatalogModel, Plan, RouteStory } from './types';

export function planSummary(plan: Plan): RouteStory['plan'] {
  return { candidates: plan.candidates, excluded: plan.excluded, prefer: plan.prefer, ...(plan.rule ? { rule: plan.rule } : {}) };
}

function failed(a: Attempt): boolean {
  return a.outcome !== 'ok';
}

/** The plan's sentence, plus what happened when the first choice did not answer. */
export function storyReason(plan: Plan, attempts: readonly Attempt[], answeredBy: string): string {
  const last = attempts.at(-1);
  // A stream cut or an abandoned call: the last attempt is the one that did not finish.
  if (last && failed(last) && last.key === answeredBy) return `${plan.reason} ${unfinished(attempts.slice(0, -1), last)}`;
  const misses = attempts.filter(failed);
  if (misses.length === 0) return plan.reason;
  const what = listed(misses);
  const first = plan.candidates[0]?.key;
  return first && first !== answeredBy
    ? `${plan.reason} Fell back to ${answeredBy} after: ${what}.`
    : `${plan.reason} Answered by ${answeredBy} after retrying: ${what}.`;
}

function listed(attempts: readonly Attempt[]): string {
  return attempts.map((a) => `${a.key} ${a.outcome}`).join(', ');
}

/** "<model> did not finish (aborted: the gateway is shutting down)", after the earlier misses if any. */
function unfinished(earlier: readonly Attempt[], last: Attempt): string {
  const why = last.message ? `${last.outcome}: ${last.message}` : last.outcome;
  const misses = earlier.filter(failed);
  const after = misses.length > 0 ? ` after ${listed(misses)}` : '';
  return `${last.key} did not finish${after} (${why}).`;
}

export interface StoryInput {
  requestedModel: string;
  plan: Plan;
  call: CallState;
  model: CatalogModel;
  usage?: Usage;
  /** `usage` is an estimate (the upstream reported none). */
  usageEstimated?: boolean;
  /** From the start of the call to the first content, for streams. */
  ttftMs?: number;
}

/** The answered call's story: who answered, every attempt, the cost from reported usage. */
export function buildStory(input: StoryInput): RouteStory {
  const { plan, call, model, usage } = input;
  const story: RouteStory = {
    requestedModel: input.requestedModel,
    model: model.key,
    provider: model.provider,
    attempts: [...call.attempts],
    costUsd: costUsd(model.pricing, usage),
    pricing: model.pricing,
    cached: false,
    reason: storyReason(plan, call.attempts, model.key),
    latencyMs: call.clock.now() - call.startedAt,
    plan: planSummary(plan),
  };
  if (usage) story.usage = usage;
  if (usage && input.usageEstimated) story.usageEstimated = true;
  if (input.ttftMs !== undefined) story.ttftMs = input.ttftMs;
  return story;
}

const abandonedStories = new ObjectMark<RouteStory>();

/** Attaches to the caller-abort error the story of the call it abandoned (see abandonedCallStory). */
export function rememberAbandonedStory(err: object, story: RouteStory): void {
  abandonedStories.set(err, story);
}

/**
 * The story of a call its caller abandoned while an upstream was already working on it: the
 * upstream bills that prompt, so the story charges it (an estimate, `usageEstimated`).
 */
export function abandonedCallStory(err: unknown): RouteStory | undefined {
  return err !== null && typeof err === 'object' ? abandonedStories.get(err) : undefined;
}
