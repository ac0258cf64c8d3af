import type { Switchyard } from '../../../src/core/gateway';
import { GatewayError } from '../../../src/core/errors';
import type { CallOptions, CatalogModel, Plan, PlanOptions, RouteStory, RoutedChatRequest, RoutedCompletion, RoutedStream } from '../../../src/core/routing/types';
import type { ChatChunk, ChatResponse } from '../../../src/core/schema';

/** A Switchyard whose answers each test scripts: the server is tested against the interface alone. */

export function catalogModel(key: string, extra: Partial<CatalogModel> = {}): CatalogModel {
  const [provider, model] = key.split('/') as [string, string];
  return {
    key,
    provider,
    model,
    aliases: [],
    pricing: { input: 1, output: 2 },
    context_window: 128_000,
    max_output_tokens: 4096,
    capabilities: { tools: true, json_schema: true, vision: false, streaming: true },
    quality: 50,
    latency_prior: { ttft_ms: 100, tokens_per_second: 100 },
    ...extra,
  };
}

export function makeStory(over: Partial<RouteStory> = {}): RouteStory {
  return {
    requestedModel: 'auto',
    model: 'fake/small',
    provider: 'fake',
    attempts: [{ key: 'fake/small', provider: 'fake', outcome: 'ok', latencyMs: 12 }],
    costUsd: 0.000123,
    usage: { prompt_tokens: 5, completion_tokens: 7, total_tokens: 12 },
    cached: false,
    reason: 'cheapest capable model',
    latencyMs: 15,
    ttftMs: 4,
    plan: { candidates: [], excluded: [], prefer: 'balanced' },
    ...over,
  };
}

export function makeResponse(content: string, over: Partial<ChatResponse> = {}): ChatResponse {
  return {
    id: 'chatcmpl-fake1',
    object: 'chat.completion',
    created: 1_700_000_000,
    model: 'small',
    choices: [{ index: 0, message: { role: 'assistant', content, refusal: null }, finish_reason: 'stop', logprobs: null }],
    usage: { prompt_tokens: 5, completion_tokens: 7, total_tokens: 12 },
    ...over,
  };
}

export function chunk(delta: ChatChunk['choices'][number]['delta'], finish: ChatChunk['choices'][number]['finish_reason'] = null): ChatChunk {
  return { id: 'chatcmpl-fake1', object: 'chat.completion.chunk', created: 1_700_000_000, model: 'small', choices: [{ index: 0, delta, finish_reason: finish, logprobs: null }] };
}

export const usageChunk: ChatChunk = { id: 'chatcmpl-fake1', object: 'chat.completion.chunk', created: 1_700_000_000, model: 'small', choices: [], usage: { prompt_tokens: 5, completion_tokens: 7, total_tokens: 12 } };

export type ChatScript = (req: RoutedChatRequest, opts: CallOptions) => Promise<RoutedCompletion>;
export type StreamScript = (req: RoutedChatRequest, opts: CallOptions) => Promise<RoutedStream>;

export class FakeSwitchyard implements Switchyard {
  readonly requests: RoutedChatRequest[] = [];
  readonly signals: AbortSignal[] = [];
  /** What plan() returned, and the plan each chat()/stream() call was handed (undefined: none). */
  readonly plans: Plan[] = [];
  readonly givenPlans: (Plan | undefined)[] = [];
  closed = false;
  chatScript: ChatScript = async (req) => ({ response: makeResponse(`echo: ${req.messages.length} message(s)`), story: makeStory({ requestedModel: req.model }) });
  streamScript: StreamScript = async (req) => streamOf([chunk({ role: 'assistant', content: '' }), chunk({ content: 'Hel' }), chunk({ content: 'lo' }), chunk({}, 'stop'), usageChunk], makeStory({ requestedModel: req.model }));

  constructor(readonly catalog: CatalogModel[] = [catalogModel('fake/small'), catalogModel('fake/large', { quality: 90 })]) {}

  async chat(request: RoutedChatRequest, options: CallOptions = {}): Promise<RoutedCompletion> {
    this.record(request, options);
    this.knownModel(request);
    return this.chatScript(request, options);
  }

  async stream(request: RoutedChatRequest, options: CallOptions = {}): Promise<RoutedStream> {
    this.record(request, options);
    this.knownModel(request);
    return this.streamScript(request, options);
  }

  plan(request: RoutedChatRequest, options: PlanOptions = {}): Plan {
    const named = request.model.startsWith('auto') ? this.catalog : this.catalog.filter((m) => m.key === request.model);
    const models = options.onlyModels ? named.filter((m) => options.onlyModels!.includes(m.key)) : named;
    const plan: Plan = {
      candidates: models.map((m, i) => ({ key: m.key, provider: m.provider, score: 1 - i / 10, expectedCostUsd: 0.001 * (i + 1), maxCostUsd: 0.01 * (i + 1), expectedLatencyMs: 500 })),
      excluded: [],
      prefer: request.routing?.prefer ?? 'balanced',
      estimatedPromptTokens: 5,
      reason: 'fake plan',
    };
    this.plans.push(plan);
    return plan;
  }

  models(): CatalogModel[] {
    return this.catalog;
  }

  async close(): Promise<void> {
    this.closed = true;
  }

  private record(request: RoutedChatRequest, options: CallOptions): void {
    this.requests.push(request);
    if (options.signal) this.signals.push(options.signal);
    this.givenPlans.push(options.plan);
  }

  private knownModel(request: RoutedChatRequest): void {
    if (request.model.startsWith('auto') || this.catalog.some((m) => m.key === request.model)) return;
    throw new GatewayError(404, `The model '${request.model}' does not exist`, { code: 'model_not_found', param: 'model' });
  }
}

/** A routed stream over fixed chunks; an Error in the list is thrown at that point. */
export function streamOf(items: Array<ChatChunk | Error>, story: RouteStory): RoutedStream {
  async function* gen(): AsyncGenerator<ChatChunk> {
    for (const item of items) {
      await new Promise((r) => setImmediate(r));
      if (item instanceof Error) throw item;
      yield item;
    }
  }
  return { model: story.model, provider: story.provider, attempts: story.attempts.length, cached: story.cached, chunks: gen(), story: Promise.resolve(story) };
}
