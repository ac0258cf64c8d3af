import type { Usage } from '../schema';
import { roundUsd } from '../routing/cost';
import type { RouteStory } from '../routing/types';

function sumUsage(stories: readonly RouteStory[]): Usage | undefined {
  const usages = stories.map((s) => s.usage).filter((u): u is Usage => u !== undefined);
  if (usages.length === 0) return undefined;
  const sum = (pick: (u: Usage) => number) => usages.reduce((acc, u) => acc + pick(u), 0);
  return { prompt_tokens: sum((u) => u.prompt_tokens), completion_tokens: sum((u) => u.completion_tokens), total_tokens: sum((u) => u.total_tokens) };
}

/**
 * One story for several calls made for one answer (a call and its repair): cost, latency, usage
 * and attempts add up; the last call says which model answered and why.
 */
export function mergeStories(stories: readonly RouteStory[]): RouteStory {
  const first = stories[0];
  const last = stories[stories.length - 1];
  if (!first || !last) throw new Error('mergeStories needs at least one story');
  if (stories.length === 1) return first;
  const merged: RouteStory = {
    ...last,
    requestedModel: first.requestedModel,
    attempts: stories.flatMap((s) => s.attempts),
    costUsd: roundUsd(stories.reduce((acc, s) => acc + s.costUsd, 0)),
    cached: stories.every((s) => s.cached),
    latencyMs: stories.reduce((acc, s) => acc + s.latencyMs, 0),
  };
  delete merged.ttftMs;
  const usage = sumUsage(stories);
  if (usage) merged.usage = usage;
  else delete merged.usage;
  return merged;
}
