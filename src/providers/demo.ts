import type { CallContext, ListedModel, ProviderAdapter } from '../core/adapter';
import { ProviderError } from '../core/errors';
import { CallerAbortError } from '../core/http';
import type { ChatChunk, ChatRequest, ChatResponse, FinishReason, ToolCall, Usage } from '../core/schema';
import { seededRandom } from '../core/clock';
import { demoAnswer, demoToolFollowUp, estimateTokens, hash32, pickTool, sampleJson } from './demo-content';

/**
 * The built-in demo provider family: simulated models that need no key, answer in a clearly
 * labelled way, take realistic (scaled) time and fail now and then, so a newcomer sees routing,
 * fallback, cost and usage on the first run. Everything random comes from a seeded source.
 */

export interface DemoModelProfile {
  /** Time to first token at latency scale 1. */
  ttftMs: number;
  tokensPerSecond: number;
}

/** Same priors as the catalog's demo entries (routing/model-overrides.json). */
export const DEMO_MODELS: Readonly<Record<string, DemoModelProfile>> = {
  mini: { ttftMs: 150, tokensPerSecond: 300 },
  standard: { ttftMs: 400, tokensPerSecond: 120 },
  pro: { ttftMs: 900, tokensPerSecond: 50 },
};

export type Sleep = (ms: number, signal?: AbortSignal) => Promise<void>;

export interface DemoAdapterOptions {
  name?: string;
  /** 0..1: share of calls failing with a simulated 429 or 503 before any output. */
  failureRate?: number;
  /** Multiplies every simulated delay; 0 answers at once. */
  latencyScale?: number;
  /** Seeds failures and jitter. */
  seed?: number;
  /** Injectable time: how delays are waited (tests pass an instant one). */
  sleep?: Sleep;
  now?: () => number;
}

/** Words (with their leading space) are the simulated tokens. */
function tokenize(text: string): string[] {
  return text.match(/\s*\S+/g) ?? [];
}

export const realSleep: Sleep = (ms, signal) =>
  new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(new CallerAbortError());
    if (ms <= 0) return resolve();
    const onAbort = () => {
      clearTimeout(timer);
      reject(new CallerAbortError());
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });

interface Answer {
  content: string | null;
  toolCalls?: ToolCall[];
  finishReason: FinishReason;
  completionTokens: number;
  pieces: string[];
}

export class DemoAdapter implements ProviderAdapter {
  readonly name: string;
  private readonly failureRate: number;
  private readonly latencyScale: number;
  private readonly random: () => number;
  private readonly sleep: Sleep;
  private readonly now: () => number;
  private counter = 0;

  constructor(opts: DemoAdapterOptions = {}) {
    this.name = opts.name ?? 'demo';
    this.failureRate = opts.failureRate ?? 0.08;
    this.latencyScale = opts.latencyScale ?? 0.25;
    this.random = seededRandom(opts.seed ?? 20_250_101);
    this.sleep = opts.sleep ?? realSleep;
    this.now = opts.now ?? Date.now;
  }

  private profile(model: string): { id: string; profile: DemoModelProfile } {
    const id = model.startsWith(`${this.name}/`) ? model.slice(this.name.length + 1) : model;
    const profile = DEMO_MODELS[id];
    if (!profile) {
      throw new ProviderError({ kind: 'bad_request', provider: this.name, status: 404, message: `model '${model}' does not exist (demo models: ${Object.keys(DEMO_MODELS).join(', ')})` });
    }
    return { id, profile };
  }

  /** Waits `ms` (scaled), honouring the caller's abort signal and the call deadline. */
  private async wait(ms: number, ctx: CallContext): Promise<void> {
    const scaled = ms * this.latencyScale;
    if (ctx.deadline !== undefined && this.now() + scaled > ctx.deadline) {
      await this.sleep(Math.max(0, ctx.deadline - this.now()), ctx.signal);
      throw new ProviderError({ kind: 'timeout', provider: this.name, message: 'simulated model did not answer before the deadline' });
    }
    await this.sleep(scaled, ctx.signal);
  }

  /** Jitter in 0.8..1.2 and, at `failureRate`, a simulated upstream failure. */
  private async start(profile: DemoModelProfile, ctx: CallContext): Promise<number> {
    if (ctx.signal?.aborted) throw new CallerAbortError();
    const jitter = 0.8 + this.random() * 0.4;
    if (this.random() < this.failureRate) {
      await this.wait(profile.ttftMs * 0.3 * jitter, ctx);
      throw this.failure();
    }
    return jitter;
  }

  private failure(): ProviderError {
    if (this.random() < 0.5) {
      const retryAfterMs = Math.round(1000 * this.latencyScale);
      return new ProviderError({ kind: 'rate_limited', provider: this.name, status: 429, retryAfterMs, upstreamCode: 'rate_limit_exceeded', message: `simulated rate limit (demo provider): retry after ${retryAfterMs} ms` });
    }
    return new ProviderError({ kind: 'overloaded', provider: this.name, status: 503, upstreamCode: 'overloaded', message: 'simulated overload (demo provider)' });
  }

  private answer(id: string, req: ChatRequest): Answer {
    const tool = pickTool(req);
    if (tool) {
      const args = JSON.stringify(sampleJson((tool.function.parameters ?? { type: 'object' }) as Record<string, unknown>));
      const callId = `call_demo_${hash32(tool.function.name + args).toString(36)}`;
      const toolCalls: ToolCall[] = [{ id: callId, type: 'function', function: { name: tool.function.name, arguments: args } }];
      return { content: null, toolCalls, finishReason: 'tool_calls', completionTokens: Math.ceil(args.length / 4) + 5, pieces: [] };
    }
    let text: string;
    const format = req.response_format;
    if (format?.type === 'json_schema') text = JSON.stringify(sampleJson(format.json_schema.schema ?? { type: 'object' }));
    else if (format?.type === 'json_object') text = JSON.stringify({ answer: demoAnswer(this.name, id, req), simulated: true });
    else if (req.messages[req.messages.length - 1]?.role === 'tool') text = demoToolFollowUp(this.name, id, req);
    else text = demoAnswer(this.name, id, req);
    return this.limit(text, req);
  }

  /** Applies max tokens and stop sequences, as a model would. */
  private limit(text: string, req: ChatRequest): Answer {
    let finishReason: FinishReason = 'stop';
    const stops = req.stop == null ? [] : Array.isArray(req.stop) ? req.stop : [req.stop];
    for (const s of stops) {
      const at = s ? text.indexOf(s) : -1;
      if (at >= 0) text = text.slice(0, at);
    }
    let pieces = tokenize(text);
    const max = req.max_completion_tokens ?? req.max_tokens;
    if (max != null && pieces.length > max) {
      pieces = pieces.slice(0, max);
      text = pieces.join('');
      finishReason = 'length';
    }
    return { content: text, finishReason, completionTokens: Math.max(1, pieces.length), pieces };
  }

  private usage(req: ChatRequest, a: Answer): Usage {
    const prompt = estimateTokens(req);
    return { prompt_tokens: prompt, completion_tokens: a.completionTokens, total_tokens: prompt + a.completionTokens };
  }

  private completionId(): string {
    this.counter += 1;
    return `chatcmpl-demo${this.now().toString(36)}${this.counter.toString(36)}`;
  }

  async complete(req: ChatRequest, ctx: CallContext): Promise<ChatResponse> {
    const { id, profile } = this.profile(req.model);
    const jitter = await this.start(profile, ctx);
    const a = this.answer(id, req);
    await this.wait((profile.ttftMs + (a.completionTokens * 1000) / profile.tokensPerSecond) * jitter, ctx);
    return {
      id: this.completionId(),
      object: 'chat.completion',
      created: Math.floor(this.now() / 1000),
      model: id,
      choices: [
        {
          index: 0,
          message: { role: 'assistant', content: a.content, refusal: null, ...(a.toolCalls ? { tool_calls: a.toolCalls } : {}) },
          finish_reason: a.finishReason,
          logprobs: null,
        },
      ],
      usage: this.usage(req, a),
    };
  }

  async *stream(req: ChatRequest, ctx: CallContext): AsyncIterable<ChatChunk> {
    const { id, profile } = this.profile(req.model);
    const jitter = await this.start(profile, ctx);
    const a = this.answer(id, req);
    const base = { id: this.completionId(), object: 'chat.completion.chunk' as const, created: Math.floor(this.now() / 1000), model: id };
    const chunk = (delta: ChatChunk['choices'][number]['delta'], finish: FinishReason | null = null): ChatChunk => ({
      ...base,
      choices: [{ index: 0, delta, finish_reason: finish, logprobs: null }],
    });
    await this.wait(profile.ttftMs * jitter, ctx);
    yield chunk({ role: 'assistant', content: '' });
    const perToken = (1000 / profile.tokensPerSecond) * jitter;
    if (a.toolCalls) {
      const tc = a.toolCalls[0]!;
      yield chunk({ tool_calls: [{ index: 0, id: tc.id, type: 'function', function: { name: tc.function.name, arguments: '' } }] });
      for (let i = 0; i < tc.function.arguments.length; i += 16) {
        await this.wait(perToken * 4, ctx);
        yield chunk({ tool_calls: [{ index: 0, function: { arguments: tc.function.arguments.slice(i, i + 16) } }] });
      }
    } else {
      // A few tokens per chunk, like real providers under load.
      for (let i = 0; i < a.pieces.length; i += 3) {
        await this.wait(perToken * 3, ctx);
        yield chunk({ content: a.pieces.slice(i, i + 3).join('') });
      }
    }
    yield chunk({}, a.finishReason);
    yield { ...base, choices: [], usage: this.usage(req, a) };
  }

  async listModels(): Promise<ListedModel[]> {
    return Object.keys(DEMO_MODELS).map((id) => ({ id, ownedBy: this.name }));
  }
}

export function createDemoAdapter(opts: DemoAdapterOptions = {}): DemoAdapter {
  return new DemoAdapter(opts);
}
