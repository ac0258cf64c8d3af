import { existsSync } from 'node:fs';
import { basename } from 'node:path';
import type { CallContext, ListedModel, ProviderAdapter } from '../core/adapter';
import type { ProviderConfig } from '../core/config';
import { ProviderError } from '../core/errors';
import { CallerAbortError } from '../core/http';
import type { ChatChunk, ChatMessage, ChatRequest, ChatResponse, FinishReason, ToolCall } from '../core/schema';
import { contentText } from './wire';

/**
 * The `local` provider: a GGUF model file answered in-process by node-llama-cpp. The package is
 * an optional dependency loaded on first use (dynamic import), so the gateway runs without it;
 * no model weights ship with Switchyard — `model_path` points at the user's own file.
 */

// The slice of node-llama-cpp's API this adapter uses (typed here so the package stays optional).
interface TokenMeter { usedInputTokens: number; usedOutputTokens: number }
interface LlamaSequence { readonly tokenMeter: TokenMeter; clearHistory(): Promise<void> }
interface LlamaContext { getSequence(): LlamaSequence; dispose(): Promise<void> }
interface LlamaModel { createContext(opts?: { sequences?: number }): Promise<LlamaContext>; dispose(): Promise<void> }
interface LlamaGrammar { readonly _brand?: unknown }
interface Llama {
  loadModel(opts: { modelPath: string }): Promise<LlamaModel>;
  createGrammarForJsonSchema(schema: unknown): Promise<LlamaGrammar>;
  getGrammarFor(type: 'json'): Promise<LlamaGrammar>;
  dispose(): Promise<void>;
}
type HistoryItem =
  | { type: 'system'; text: string }
  | { type: 'user'; text: string }
  | { type: 'model'; response: Array<string | { type: 'functionCall'; name: string; params: unknown; result: unknown }> };
interface GenerateOptions {
  signal?: AbortSignal;
  maxTokens?: number;
  temperature?: number;
  topP?: number;
  seed?: number;
  grammar?: LlamaGrammar;
  functions?: Record<string, { description?: string; params?: unknown }>;
  onTextChunk?: (text: string) => void;
}
interface GenerateResult {
  response: string;
  functionCalls?: Array<{ functionName: string; params: unknown }>;
  metadata: { stopReason: string };
}
interface LlamaChat { generateResponse(history: HistoryItem[], opts: GenerateOptions): Promise<GenerateResult>; dispose(): void }
export interface NodeLlamaCppModule {
  getLlama(opts?: { gpu?: 'auto' | false; build?: 'never' | 'auto'; progressLogs?: boolean; logLevel?: string }): Promise<Llama>;
  LlamaChat: new (opts: { contextSequence: LlamaSequence }) => LlamaChat;
}

export const LOCAL_PACKAGE_MISSING = 'install node-llama-cpp to use the local provider (npm install node-llama-cpp)';

/** Loads node-llama-cpp; a separate function so tests can simulate its absence. */
export type ModuleLoader = () => Promise<NodeLlamaCppModule>;

const importNodeLlamaCpp: ModuleLoader = async () => {
  // A variable specifier keeps bundlers and the TypeScript compiler from resolving the optional package.
  const specifier = 'node-llama-cpp';
  return (await import(specifier)) as NodeLlamaCppModule;
};

export interface LocalAdapterOptions {
  name?: string;
  modelPath: string;
  load?: ModuleLoader;
}

interface Loaded {
  mod: NodeLlamaCppModule;
  llama: Llama;
  model: LlamaModel;
  context: LlamaContext;
  sequence: LlamaSequence;
}

function parseMaybeJson(s: string): unknown {
  try {
    return JSON.parse(s) as unknown;
  } catch {
    return s;
  }
}

/** OpenAI messages as node-llama-cpp chat history; tool results attach to their function calls. */
export function toHistory(messages: ChatMessage[]): HistoryItem[] {
  const history: HistoryItem[] = [];
  const results = new Map<string, unknown>();
  for (const m of messages) if (m.role === 'tool') results.set(m.tool_call_id, parseMaybeJson(contentText(m.content)));
  for (const m of messages) {
    if (m.role === 'system' || m.role === 'developer') history.push({ type: 'system', text: contentText(m.content) });
    else if (m.role === 'user') history.push({ type: 'user', text: contentText(m.content) });
    else if (m.role === 'assistant') {
      const response: Extract<HistoryItem, { type: 'model' }>['response'] = [];
      const content = contentText(m.content);
      if (content) response.push(content);
      for (const tc of m.tool_calls ?? []) {
        response.push({ type: 'functionCall', name: tc.function.name, params: parseMaybeJson(tc.function.arguments), result: results.get(tc.id) ?? null });
      }
      history.push({ type: 'model', response });
    }
  }
  history.push({ type: 'model', response: [] });
  return history;
}

/** A small async queue between node-llama-cpp's callbacks and an async generator. */
class ChunkQueue {
  private items: string[] = [];
  private wake?: () => void;
  push(s: string): void {
    this.items.push(s);
    this.wake?.();
  }
  notify(): void {
    this.wake?.();
  }
  take(): string[] {
    const out = this.items;
    this.items = [];
    return out;
  }
  wait(): Promise<void> {
    return new Promise((resolve) => (this.wake = resolve));
  }
}

export class LocalAdapter implements ProviderAdapter {
  readonly name: string;
  private readonly modelPath: string;
  private readonly load: ModuleLoader;
  private loading?: Promise<Loaded>;
  /** One sequence, one generation at a time: calls queue behind each other. */
  private tail: Promise<unknown> = Promise.resolve();
  private counter = 0;

  constructor(opts: LocalAdapterOptions) {
    this.name = opts.name ?? 'local';
    this.modelPath = opts.modelPath;
    this.load = opts.load ?? importNodeLlamaCpp;
  }

  private fail(message: string, cause?: unknown): ProviderError {
    return new ProviderError({ kind: 'upstream_error', provider: this.name, retryable: false, message, cause });
  }

  private loaded(): Promise<Loaded> {
    if (!this.loading) {
      this.loading = this.loadModel();
      // A failed load is retried on the next call (the file or package may have been added).
      this.loading.catch(() => (this.loading = undefined));
    }
    return this.loading;
  }

  private async loadModel(): Promise<Loaded> {
    if (!this.modelPath) throw this.fail(`set model_path (a GGUF file) for provider '${this.name}'`);
    if (!existsSync(this.modelPath)) throw this.fail(`model file not found: ${this.modelPath}`);
    let mod: NodeLlamaCppModule;
    try {
      mod = await this.load();
    } catch (err) {
      const code = (err as { code?: unknown }).code;
      const missing = code === 'ERR_MODULE_NOT_FOUND' || code === 'MODULE_NOT_FOUND';
      throw this.fail(missing ? LOCAL_PACKAGE_MISSING : `node-llama-cpp failed to load: ${(err as Error).message}`, err);
    }
    try {
      const llama = await mod.getLlama({ build: 'never', progressLogs: false, logLevel: 'error' });
      const model = await llama.loadModel({ modelPath: this.modelPath });
      const context = await model.createContext({ sequences: 1 });
      return { mod, llama, model, context, sequence: context.getSequence() };
    } catch (err) {
      throw this.fail(`could not load ${basename(this.modelPath)}: ${(err as Error).message}`, err);
    }
  }

  /** Runs one generation after the previous one finished. */
  private exclusive<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.tail.then(fn, fn);
    this.tail = run.catch(() => undefined);
    return run;
  }

  private async options(l: Loaded, req: ChatRequest, signal: AbortSignal): Promise<GenerateOptions> {
    const opts: GenerateOptions = { signal };
    const max = req.max_completion_tokens ?? req.max_tokens;
    if (max != null) opts.maxTokens = max;
    if (req.temperature != null) opts.temperature = req.temperature;
    if (req.top_p != null) opts.topP = req.top_p;
    if (req.seed != null) opts.seed = req.seed;
    const format = req.response_format;
    if (format?.type === 'json_schema') opts.grammar = await l.llama.createGrammarForJsonSchema(format.json_schema.schema ?? { type: 'object' });
    else if (format?.type === 'json_object') opts.grammar = await l.llama.getGrammarFor('json');
    else if (req.tools?.length && req.tool_choice !== 'none') {
      opts.functions = Object.fromEntries(req.tools.map((t) => [t.function.name, { description: t.function.description, params: t.function.parameters }]));
    }
    return opts;
  }

  /** One generation; `onText` receives text as it is produced. */
  private generate(req: ChatRequest, ctx: CallContext, onText?: (s: string) => void): Promise<{ result: GenerateResult; prompt: number; completion: number }> {
    return this.exclusive(async () => {
      const l = await this.loaded();
      const ac = new AbortController();
      const onAbort = () => ac.abort(new CallerAbortError());
      ctx.signal?.addEventListener('abort', onAbort, { once: true });
      const timer = ctx.deadline !== undefined ? setTimeout(() => ac.abort(new ProviderError({ kind: 'timeout', provider: this.name, message: 'local model did not finish before the deadline' })), Math.max(0, ctx.deadline - Date.now())) : undefined;
      try {
        if (ctx.signal?.aborted) throw new CallerAbortError();
        await l.sequence.clearHistory();
        const before = { ...l.sequence.tokenMeter };
        const chat = new l.mod.LlamaChat({ contextSequence: l.sequence });
        try {
          const opts = await this.options(l, req, ac.signal);
          if (onText) opts.onTextChunk = onText;
          const result = await chat.generateResponse(toHistory(req.messages), opts);
          const after = l.sequence.tokenMeter;
          return { result, prompt: after.usedInputTokens - before.usedInputTokens, completion: after.usedOutputTokens - before.usedOutputTokens };
        } finally {
          chat.dispose();
        }
      } catch (err) {
        const reason: unknown = ac.signal.aborted ? ac.signal.reason : undefined;
        if (reason instanceof Error) throw reason;
        if (err instanceof ProviderError || err instanceof CallerAbortError) throw err;
        throw new ProviderError({ kind: 'bad_request', provider: this.name, message: `local model: ${(err as Error).message}`, cause: err });
      } finally {
        ctx.signal?.removeEventListener('abort', onAbort);
        if (timer) clearTimeout(timer);
      }
    });
  }

  private toolCalls(result: GenerateResult): ToolCall[] | undefined {
    if (!result.functionCalls?.length) return undefined;
    return result.functionCalls.map((fc, i) => ({
      id: `call_local_${Date.now().toString(36)}_${i}`,
      type: 'function' as const,
      function: { name: fc.functionName, arguments: JSON.stringify(fc.params ?? {}) },
    }));
  }

  private finish(result: GenerateResult, toolCalls?: ToolCall[]): FinishReason {
    if (toolCalls) return 'tool_calls';
    return result.metadata.stopReason === 'maxTokens' ? 'length' : 'stop';
  }

  private id(): string {
    this.counter += 1;
    return `chatcmpl-local${Date.now().toString(36)}${this.counter}`;
  }

  async complete(req: ChatRequest, ctx: CallContext): Promise<ChatResponse> {
    const { result, prompt, completion } = await this.generate(req, ctx);
    const toolCalls = this.toolCalls(result);
    return {
      id: this.id(),
      object: 'chat.completion',
      created: Math.floor(Date.now() / 1000),
      model: req.model,
      choices: [
        {
          index: 0,
          message: { role: 'assistant', content: toolCalls ? result.response || null : result.response, refusal: null, ...(toolCalls ? { tool_calls: toolCalls } : {}) },
          finish_reason: this.finish(result, toolCalls),
          logprobs: null,
        },
      ],
      usage: { prompt_tokens: prompt, completion_tokens: completion, total_tokens: prompt + completion },
    };
  }

  async *stream(req: ChatRequest, ctx: CallContext): AsyncIterable<ChatChunk> {
    const base = { id: this.id(), object: 'chat.completion.chunk' as const, created: Math.floor(Date.now() / 1000), model: req.model };
    const chunk = (delta: ChatChunk['choices'][number]['delta'], finish: FinishReason | null = null): ChatChunk => ({ ...base, choices: [{ index: 0, delta, finish_reason: finish, logprobs: null }] });
    const queue = new ChunkQueue();
    let settled = false;
    const running = this.generate(req, ctx, (s) => queue.push(s)).finally(() => {
      settled = true;
      queue.notify();
    });
    running.catch(() => undefined);
    // Nothing is yielded before the model produced text, so load failures can still fall back.
    let started = false;
    for (;;) {
      const texts = queue.take();
      if (texts.length > 0 && !started) {
        started = true;
        yield chunk({ role: 'assistant', content: '' });
      }
      for (const s of texts) yield chunk({ content: s });
      if (settled) break;
      await queue.wait();
    }
    const { result, prompt, completion } = await running;
    if (!started) yield chunk({ role: 'assistant', content: '' });
    const toolCalls = this.toolCalls(result);
    if (toolCalls) {
      yield chunk({ tool_calls: toolCalls.map((tc, index) => ({ index, id: tc.id, type: 'function' as const, function: tc.function })) });
    }
    yield chunk({}, this.finish(result, toolCalls));
    yield { ...base, choices: [], usage: { prompt_tokens: prompt, completion_tokens: completion, total_tokens: prompt + completion } };
  }

  async listModels(): Promise<ListedModel[]> {
    if (!existsSync(this.modelPath)) throw this.fail(`model file not found: ${this.modelPath}`);
    return [{ id: localModelId(this.modelPath), ownedBy: this.name }];
  }

  /** Frees the model and the native context. */
  async close(): Promise<void> {
    const l = await this.loading?.catch(() => undefined);
    this.loading = undefined;
    if (!l) return;
    await l.context.dispose();
    await l.model.dispose();
    await l.llama.dispose();
  }
}

/** The model id a GGUF file is served under: its file name without `.gguf`. */
export function localModelId(modelPath: string): string {
  return basename(modelPath).replace(/\.gguf$/i, '');
}

export function createLocalAdapter(name: string, cfg: Pick<ProviderConfig, 'model_path'>): LocalAdapter {
  return new LocalAdapter({ name, modelPath: cfg.model_path ?? '' });
}
