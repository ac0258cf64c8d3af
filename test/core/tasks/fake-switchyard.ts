import type { Switchyard } from '../../../src/core/gateway';
import type { RouteStory, RoutedChatRequest, RoutedCompletion } from '../../../src/core/routing/types';

/** One scripted answer: its text (or a refusal, or an error), and what the call cost. */
export interface Scripted {
  text?: string | null;
  refusal?: string;
  error?: Error;
  model?: string;
  costUsd?: number;
  latencyMs?: number;
  /** Failed attempts before the one that answered. */
  failedAttempts?: number;
}

export function story(model: string, s: Scripted = {}): RouteStory {
  const provider = model.split('/')[0] ?? 'fake';
  const failed = Array.from({ length: s.failedAttempts ?? 0 }, () => ({ key: 'other/model', provider: 'other', outcome: 'rate_limited' as const, latencyMs: 5, status: 429 }));
  return {
    requestedModel: 'auto',
    model,
    provider,
    attempts: [...failed, { key: model, provider, outcome: 'ok', latencyMs: s.latencyMs ?? 100 }],
    costUsd: s.costUsd ?? 0.0001,
    cached: false,
    reason: `picked ${model}`,
    latencyMs: s.latencyMs ?? 100,
    usage: { prompt_tokens: 10, completion_tokens: 5, total_tokens: 15 },
    plan: { candidates: [], excluded: [], prefer: 'balanced' },
  };
}

/** A Switchyard whose answers are scripted, in order; records every request and its options. */
export class FakeSwitchyard implements Pick<Switchyard, 'chat'> {
  readonly requests: RoutedChatRequest[] = [];
  readonly deadlines: Array<number | undefined> = [];
  private readonly script: Scripted[];

  constructor(script: Array<Scripted | string>) {
    this.script = script.map((s) => (typeof s === 'string' ? { text: s } : s));
  }

  async chat(request: RoutedChatRequest, options: { deadlineMs?: number } = {}): Promise<RoutedCompletion> {
    this.requests.push(request);
    this.deadlines.push(options.deadlineMs);
    const next = this.script.shift();
    if (!next) throw new Error(`unexpected call #${this.requests.length}`);
    if (next.error) throw next.error;
    const model = next.model ?? 'fake/model-a';
    return {
      response: {
        id: `chatcmpl-${this.requests.length}`,
        object: 'chat.completion',
        created: 1,
        model,
        choices: [{ index: 0, message: { role: 'assistant', content: next.text ?? null, refusal: next.refusal ?? null }, finish_reason: 'stop', logprobs: null }],
        usage: { prompt_tokens: 10, completion_tokens: 5, total_tokens: 15 },
      },
      story: story(model, next),
    };
  }
}
