import type { RoutedChatRequest, Usage } from '../core';
import type { Deadline } from '../limits';

/** One routed call's answer and its story, as the actions report it. */
export interface ChatOutcome {
  text: string;
  finishReason: string | null;
  /** Catalog key of the model that answered, e.g. "openai/gpt-4.1-mini". */
  model: string;
  provider: string;
  costUsd: number;
  latencyMs: number;
  attempts: number;
  /** One line per attempt, e.g. "openai/gpt-4.1-mini: rate_limited (429, 120 ms)". */
  attemptLog: string;
  cached: boolean;
  /** Why the router chose this model, in a sentence ("" when a gateway does not say). */
  reason: string;
  usage?: Usage;
}

/** A model the dropdown offers. */
export interface ModelChoice {
  id: string;
  name: string;
}

/** Where a step's calls go: the embedded core (Direct) or a Switchyard server (Gateway). */
export interface Backend {
  chat(request: RoutedChatRequest, deadline: Deadline): Promise<ChatOutcome>;
  models(): Promise<ModelChoice[]>;
  close(): Promise<void>;
}

/** The `auto` shorthands the router understands, offered first in every model dropdown. */
export const AUTO_MODELS: readonly ModelChoice[] = [
  { id: 'auto', name: 'Auto: balanced (cost, speed and quality)' },
  { id: 'auto:cost', name: 'Auto: cheapest capable model' },
  { id: 'auto:latency', name: 'Auto: fastest model' },
  { id: 'auto:quality', name: 'Auto: best quality' },
  { id: 'auto:balanced', name: 'Auto: balanced, whatever the default preference' },
];

/** Cost in USD, to a millionth of a dollar (sub-cent calls stay visible). */
export function roundUsd(usd: number): number {
  return Math.round(usd * 1e6) / 1e6;
}
