import type { CallContext, ProviderAdapter } from '../../../src/core/adapter';
import type { Clock } from '../../../src/core/clock';
import { ProviderError, type ProviderErrorInit } from '../../../src/core/errors';
import type { ChatChunk, ChatRequest, ChatResponse, Usage } from '../../../src/core/schema';
import type { ProviderRuntime } from '../../../src/providers/registry';
import { createCatalog } from '../../../src/core/routing/catalog';
import type { Catalog, CatalogModel } from '../../../src/core/routing/types';

/** What a fake upstream does on one call. Times are on the injected clock. */
export type Step =
  | { kind: 'ok'; text?: string; latencyMs?: number; ttftMs?: number; pieces?: number; gapMs?: number; usage?: Usage }
  | { kind: 'error'; error: Omit<ProviderErrorInit, 'provider'>; latencyMs?: number }
  /** Streams `afterPieces` content chunks, then the connection dies. complete(): the body is cut. */
  | { kind: 'cut'; afterPieces: number; latencyMs?: number }
  /** Streams `afterPieces` content chunks, then ends cleanly but without a finish_reason (a misbehaving adapter or upstream). */
  | { kind: 'unfinished'; afterPieces: number }
  /** Answers only when `until` resolves (or never); honours the abort signal. */
  | { kind: 'wait'; until?: Promise<void>; then?: Step }
  /** A 200 whose answer has no choices. */
  | { kind: 'empty' };

export interface FakeCall {
  mode: 'complete' | 'stream';
  req: ChatRequest;
  ctx: CallContext;
  at: number;
}

export const DEFAULT_USAGE: Usage = { prompt_tokens: 100, completion_tokens: 20, total_tokens: 120 };

/** An in-process provider that follows a script, on a (virtual) clock, honouring ctx.signal. */
export class FakeAdapter implements ProviderAdapter {
  readonly calls: FakeCall[] = [];
  private script: Array<Step | ((call: FakeCall) => Step)> = [];

  constructor(
    readonly name: string,
    private readonly clock: Clock,
    private fallback: Step | ((call: FakeCall) => Step) = { kind: 'ok' },
  ) {}

  /** Steps for the next calls, in order; afterwards `always` (or the previous default) applies. */
  then(...steps: Step[]): this {
    this.script.push(...steps);
    return this;
  }

  always(step: Step | ((call: FakeCall) => Step)): this {
    this.fallback = step;
    return this;
  }

  private next(call: FakeCall): Step {
    this.calls.push(call);
    const s = this.script.shift() ?? this.fallback;
    return typeof s === 'function' ? s(call) : s;
  }

  private fail(init: Omit<ProviderErrorInit, 'provider'>): ProviderError {
    return new ProviderError({ ...init, provider: this.name });
  }

  private async settle(step: Step, ctx: CallContext): Promise<Step> {
    if (step.kind !== 'wait') return step;
    const aborted = new Promise<never>((_, reject) => {
      if (ctx.signal?.aborted) reject(ctx.signal.reason);
      ctx.signal?.addEventListener('abort', () => reject(ctx.signal?.reason), { once: true });
    });
    aborted.catch(() => undefined);
    await Promise.race([step.until ?? new Promise<void>(() => undefined), aborted]);
    return step.then ?? { kind: 'ok' };
  }

  async complete(req: ChatRequest, ctx: CallContext): Promise<ChatResponse> {
    const step = await this.settle(this.next({ mode: 'complete', req, ctx, at: this.clock.now() }), ctx);
    if ('latencyMs' in step && step.latencyMs) await this.clock.sleep(step.latencyMs, ctx.signal);
    if (step.kind === 'error') throw this.fail(step.error);
    if (step.kind === 'cut' || step.kind === 'unfinished') {
      throw this.fail({ kind: 'upstream_error', message: 'connection reset while reading the body (answer truncated)' });
    }
    const text = step.kind === 'ok' ? (step.text ?? `answer from ${this.name}`) : '';
    const response: ChatResponse = {
      id: `${this.name}-${this.calls.length}`,
      object: 'chat.completion',
      created: 1_700_000_000,
      model: req.model,
      choices:
        step.kind === 'empty'
          ? []
          : [{ index: 0, message: { role: 'assistant', content: text, refusal: null }, finish_reason: 'stop', logprobs: null }],
    };
    response.usage = (step.kind === 'ok' && step.usage) || DEFAULT_USAGE;
    return response;
  }

  async *stream(req: ChatRequest, ctx: CallContext): AsyncIterable<ChatChunk> {
    const step = await this.settle(this.next({ mode: 'stream', req, ctx, at: this.clock.now() }), ctx);
    const id = `${this.name}-${this.calls.length}`;
    const chunk = (delta: ChatChunk['choices'][number]['delta'], finish: ChatChunk['choices'][number]['finish_reason'] = null): ChatChunk => ({
      id,
      object: 'chat.completion.chunk',
      created: 1_700_000_000,
      model: req.model,
      choices: [{ index: 0, delta, finish_reason: finish, logprobs: null }],
    });
    yield chunk({ role: 'assistant', content: '' });
    if (step.kind === 'error') {
      if (step.latencyMs) await this.clock.sleep(step.latencyMs, ctx.signal);
      throw this.fail(step.error);
    }
    if (step.kind === 'empty' || step.kind === 'wait') throw this.fail({ kind: 'upstream_error', message: 'empty' });
    const text = step.kind === 'ok' ? (step.text ?? `answer from ${this.name}`) : `partial answer from ${this.name}`;
    if (step.kind === 'unfinished') {
      for (let i = 0; i < step.afterPieces; i++) yield chunk({ content: `${text} ` });
      return;
    }
    const ttft = step.kind === 'ok' ? (step.ttftMs ?? step.latencyMs ?? 0) : (step.latencyMs ?? 0);
    if (ttft) await this.clock.sleep(ttft, ctx.signal);
    const pieces = step.kind === 'cut' ? Math.max(1, step.afterPieces) : (step.pieces ?? 2);
    const size = Math.ceil(text.length / pieces);
    for (let i = 0; i < pieces; i++) {
      yield chunk({ content: text.slice(i * size, (i + 1) * size) });
      await this.clock.sleep(step.kind === 'ok' ? (step.gapMs ?? 1) : 1, ctx.signal);
    }
    if (step.kind === 'cut') throw this.fail({ kind: 'upstream_error', message: 'stream ended before [DONE]: the answer may be truncated' });
    yield chunk({}, 'stop');
    yield { ...chunk({}), choices: [], usage: step.usage ?? DEFAULT_USAGE };
  }
}

export function runtime(adapter: ProviderAdapter, limits?: ProviderRuntime['limits']): ProviderRuntime {
  return { name: adapter.name, type: 'openai-compatible', adapter, credentials: { apiKey: `sk-fake-${adapter.name}-key`, baseUrl: 'http://fake.invalid' }, limits };
}

/** A catalog model with round numbers; `key` is "provider/model". */
export function model(key: string, fields: Partial<CatalogModel> = {}): CatalogModel {
  const [provider, id] = key.split('/') as [string, string];
  return {
    key,
    provider,
    model: id,
    aliases: [],
    pricing: { input: 1, output: 2 },
    context_window: 100_000,
    max_output_tokens: 4096,
    capabilities: { tools: true, json_schema: true, vision: false, streaming: true },
    quality: 70,
    latency_prior: { ttft_ms: 300, tokens_per_second: 100 },
    price_source: 'test',
    ...fields,
  };
}

export function catalog(...models: CatalogModel[]): Catalog {
  return createCatalog(models);
}

export const hello = { messages: [{ role: 'user' as const, content: 'Say hello' }] };

/** Text of a chunk list. */
export function textOf(chunks: ChatChunk[]): string {
  return chunks.map((c) => c.choices.map((ch) => ch.delta.content ?? '').join('')).join('');
}

export function deferred(): { promise: Promise<void>; resolve: () => void } {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => (resolve = r));
  return { promise, resolve };
}
