import { mathRandom, systemClock, type Clock, type Random } from '../clock';
import { CoreConfigSchema, type CoreConfig, type CoreConfigInput } from '../config';
import { GatewayError, formatPath } from '../errors';
import type { Switchyard } from '../gateway';
import type { ChatChunk } from '../schema';
import { resolveProviders, type ProviderRuntime } from '../../providers/registry';
import { isCallerAbortedError, type CallState } from './attempt';
import { ResponseCache, cacheKey, type CachedAnswer } from './cache';
import { buildCatalog, createCatalog } from './catalog';
import { responseToChunks } from './chunks';
import { Listeners, type SwitchyardEvents } from './events';
import { executeComplete, type Engine } from './executor';
import { HealthTracker, type HealthSnapshot } from './health';
import { LimitsRegistry, type LimiterStoreOptions } from './limits';
import { UNKNOWN_MODEL_REASON } from './model-names';
import { plan as planRoute } from './plan';
import { compileRules } from './rules';
import { buildStory, planSummary, rememberAbandonedStory } from './story';
import { executeStream } from './stream';
import { estimatePromptTokens, isOpenAIFamily, preloadTokenizer } from './tokens';
import {
  type CallOptions,
  type Catalog,
  type CatalogModel,
  type Plan,
  type PlanOptions,
  type RouteStory,
  type RoutedChatRequest,
  type RoutedCompletion,
  type RoutedStream,
} from './types';
import { validRoutedRequest } from './validate';

export interface SwitchyardDeps {
  /** Where provider keys and base URLs are read from (default: process.env). */
  env?: Record<string, string | undefined>;
  /** Ready providers (e.g. fake in-process adapters); replaces resolving them from config and env. */
  runtimes?: ProviderRuntime[];
  clock?: Clock;
  random?: Random;
  /** Replaces the catalog built from the configured providers (models of unknown providers are dropped). */
  catalog?: Catalog;
  /** Bottleneck clustering options (e.g. `{ datastore: 'ioredis', clientOptions }`) shared by every provider limiter. */
  limiterStore?: LimiterStoreOptions;
}

export type { FailedCall, SwitchyardEvents } from './events';

/** The Switchyard interface plus what operations need: events, a health snapshot, the parsed config. */
export interface RoutingSwitchyard extends Switchyard {
  readonly config: CoreConfig;
  on<E extends keyof SwitchyardEvents>(event: E, listener: SwitchyardEvents[E]): () => void;
  health(): HealthSnapshot[];
}

function parseConfig(input: CoreConfigInput | CoreConfig): CoreConfig {
  const result = CoreConfigSchema.safeParse(input);
  if (result.success) return result.data;
  const issue = result.error.issues[0];
  const where = issue ? formatPath(issue.path) || 'config' : 'config';
  throw new Error(`invalid Switchyard config at '${where}': ${issue?.message ?? 'invalid'}`);
}

/** Validates a request; `stream` says which call it is for (chat() ignores a stray `stream: true`). */
function parseRequest(input: RoutedChatRequest, stream: boolean | undefined): RoutedChatRequest {
  const request = validRoutedRequest(input);
  if (stream && request.stream !== true) return { ...request, stream: true };
  if (stream === false && (request.stream || request.stream_options)) {
    const { stream: _stream, stream_options: _options, ...rest } = request;
    return rest;
  }
  return request;
}

function catalogFor(config: CoreConfig, runtimes: ProviderRuntime[], given?: Catalog): Catalog {
  const names = new Set(runtimes.map((r) => r.name));
  if (!given) {
    const providers = runtimes.map((r) => ({ name: r.name, type: r.type, preset: config.providers[r.name]?.preset }));
    return buildCatalog({ providers, overrides: config.models });
  }
  return given.models.every((m) => names.has(m.provider)) ? given : createCatalog(given.models.filter((m) => names.has(m.provider)));
}

class SwitchyardImpl implements RoutingSwitchyard {
  private readonly engine: Engine;
  private readonly cache: ResponseCache;
  private readonly listeners = new Listeners();
  private closed = false;
  /** One controller per call in flight: close() aborts them all. */
  private readonly inFlight = new Set<AbortController>();

  constructor(
    readonly config: CoreConfig,
    deps: SwitchyardDeps,
  ) {
    compileRules(config.routing.rules);
    const clock = deps.clock ?? systemClock;
    const runtimes = deps.runtimes ?? resolveProviders(config, deps.env ?? process.env);
    this.engine = {
      config: config.routing,
      catalog: catalogFor(config, runtimes, deps.catalog),
      runtimes: new Map(runtimes.map((r) => [r.name, r])),
      health: new HealthTracker(config.routing.circuit, clock, (t) => this.listeners.emit('circuit', t)),
      limits: new LimitsRegistry(runtimes, clock, deps.limiterStore),
      clock,
      random: deps.random ?? mathRandom,
    };
    this.cache = new ResponseCache(config.cache, clock);
    // Plans price OpenAI-family models with the real tokenizer: load it now rather than on a request.
    if (this.engine.catalog.models.some(isOpenAIFamily)) preloadTokenizer();
  }

  on<E extends keyof SwitchyardEvents>(event: E, listener: SwitchyardEvents[E]): () => void {
    return this.listeners.on(event, listener);
  }

  health(): HealthSnapshot[] {
    return this.engine.health.snapshot();
  }

  models(): CatalogModel[] {
    return [...this.engine.catalog.models];
  }

  plan(input: RoutedChatRequest, options?: PlanOptions): Plan {
    return this.planFor(parseRequest(input, undefined), options);
  }

  async chat(input: RoutedChatRequest, options: CallOptions = {}): Promise<RoutedCompletion> {
    const request = parseRequest(input, false);
    const { call, end, key, hit } = this.begin(request, options);
    if (hit) {
      end();
      return { response: hit.response, story: this.cachedStory(request, call, hit, options.plan) };
    }
    let plan: Plan | undefined;
    try {
      plan = this.routablePlan(request, options.plan);
      const { value: response, handle } = await executeComplete(this.engine, call, request, plan);
      const story = buildStory({ requestedModel: request.model, plan, call, model: handle.model, usage: response.usage });
      if (key) this.cache.set(key, { response, model: handle.model.key, provider: handle.model.provider, pricing: handle.model.pricing });
      this.listeners.emit('story', story);
      return { response, story };
    } catch (err) {
      this.chargeAbandoned(request, call, plan, err);
      this.reportFailure(request, call, err);
      throw err;
    } finally {
      end();
    }
  }

  async stream(input: RoutedChatRequest, options: CallOptions = {}): Promise<RoutedStream> {
    const request = parseRequest(input, true);
    const { call, end, key, hit } = this.begin(request, options);
    if (hit) {
      end();
      return this.replay(hit, this.cachedStory(request, call, hit, options.plan));
    }
    let plan: Plan | undefined;
    try {
      plan = this.routablePlan(request, options.plan);
      return await executeStream(this.engine, call, request, plan, {
        onDone: (story, answer) => {
          end();
          if (key && answer) this.cache.set(key, { response: answer, model: story.model, provider: story.provider, pricing: story.pricing });
          this.listeners.emit('story', story);
        },
      });
    } catch (err) {
      end();
      this.chargeAbandoned(request, call, plan, err);
      this.reportFailure(request, call, err);
      throw err;
    }
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const controller of [...this.inFlight]) controller.abort();
    await this.engine.limits.close();
  }

  /** A new call, with its cache key when the request uses the cache and the stored answer when there is one. */
  private begin(request: RoutedChatRequest, options: CallOptions): { call: CallState; end: () => void; key?: string; hit?: CachedAnswer } {
    const started = this.newCall(request, options);
    if (!this.cache.wants(request)) return started;
    const key = cacheKey(request);
    const hit = this.cache.get(key);
    // A caller bound to a plan (a key's allow-list) gets only answers of models that plan may use.
    if (hit && options.plan && !options.plan.candidates.some((c) => c.key === hit.model)) return { ...started, key };
    return { ...started, key, hit };
  }

  private planFor(request: RoutedChatRequest, options?: PlanOptions): Plan {
    return planRoute(request, this.engine.catalog, this.engine.health, this.engine.config, options);
  }

  /** The plan (the caller's, when it already made one), or the error that explains why nothing can take the request. */
  private routablePlan(request: RoutedChatRequest, given: Plan | undefined): Plan {
    const plan = given ?? this.planFor(request);
    if (plan.candidates.length > 0) return plan;
    throw this.emptyPlanError(plan);
  }

  private emptyPlanError(plan: Plan): GatewayError {
    const { excluded } = plan;
    if (excluded.length > 0 && excluded.every((x) => x.reason.startsWith(UNKNOWN_MODEL_REASON))) {
      return new GatewayError(404, plan.reason, { code: 'model_not_found', param: 'model' });
    }
    const health = this.engine.health;
    if (excluded.length > 0 && excluded.every((x) => health.isOpen(x.key))) {
      const wait = Math.min(...excluded.map((x) => health.reopensIn(x.key) ?? 0));
      return new GatewayError(503, `every candidate model is temporarily unavailable (circuit open): ${excluded.map((x) => x.key).join(', ')}`, {
        code: 'models_unavailable',
        headers: { 'retry-after': String(Math.max(1, Math.ceil(wait / 1000))) },
      });
    }
    const shown = excluded.slice(0, 10).map((x) => `${x.key}: ${x.reason}`);
    const more = excluded.length > 10 ? `; and ${excluded.length - 10} more` : '';
    const why = shown.length > 0 ? `${shown.join('; ')}${more}` : 'the catalog has no models for the configured providers';
    return new GatewayError(400, `no model satisfies the request: ${why}`, { code: 'no_model_available', param: 'model' });
  }

  /** The call's shared state, and `end()` to unlink it from the caller's signal and from close(). */
  private newCall(request: RoutedChatRequest, options: CallOptions): { call: CallState; end: () => void } {
    if (this.closed) throw new GatewayError(503, 'switchyard is closed', { code: 'closed' });
    const deadlineMs = options.deadlineMs ?? this.config.routing.deadline_ms;
    if (!Number.isFinite(deadlineMs) || deadlineMs <= 0) {
      throw new GatewayError(400, `Invalid request: 'deadlineMs' must be a positive number of milliseconds`, { param: 'deadlineMs', code: 'invalid_value' });
    }
    const { clock, health } = this.engine;
    const startedAt = clock.now();
    // Not AbortSignal.any(): dependents of a long-lived signal are only freed by GC, if at all.
    const controller = new AbortController();
    // The caller's reason travels on (a server shutting down is not a caller that left).
    const onAbort = () => controller.abort(options.signal?.reason);
    if (options.signal?.aborted) onAbort();
    options.signal?.addEventListener('abort', onAbort, { once: true });
    this.inFlight.add(controller);
    const end = () => {
      options.signal?.removeEventListener('abort', onAbort);
      this.inFlight.delete(controller);
    };
    const call: CallState = {
      clock,
      health,
      callerSignal: controller.signal,
      deadline: startedAt + deadlineMs,
      deadlineMs,
      startedAt,
      maxTtftMs: request.routing?.max_ttft_ms ?? (request.stream ? this.config.routing.max_ttft_ms : undefined),
      attempts: [],
      onAttempt: (a) => this.listeners.emit('attempt', a),
    };
    return { call, end };
  }

  private cachedStory(request: RoutedChatRequest, call: CallState, hit: CachedAnswer, given: Plan | undefined): RouteStory {
    const plan = given ?? this.planFor(request);
    const ageS = Math.round((this.engine.clock.now() - hit.storedAt) / 1000);
    const story: RouteStory = {
      requestedModel: request.model,
      model: hit.model,
      provider: hit.provider,
      attempts: [],
      costUsd: 0,
      ...(hit.pricing ? { pricing: hit.pricing } : {}),
      ...(hit.response.usage ? { usage: hit.response.usage } : {}),
      cached: true,
      reason: `Cache hit: the same request was answered by ${hit.model} ${ageS} s ago; no upstream call.`,
      latencyMs: this.engine.clock.now() - call.startedAt,
      plan: planSummary(plan),
    };
    this.listeners.emit('story', story);
    return story;
  }

  private replay(hit: CachedAnswer, story: RouteStory): RoutedStream {
    const chunks = responseToChunks(hit.response);
    async function* replayChunks(): AsyncGenerator<ChatChunk> {
      yield* chunks;
    }
    return { model: hit.model, provider: hit.provider, attempts: 0, cached: true, chunks: replayChunks(), story: Promise.resolve({ ...story, ttftMs: story.latencyMs }) };
  }

  /** A caller that gave up while an upstream was working on its prompt still pays for that prompt. */
  private chargeAbandoned(request: RoutedChatRequest, call: CallState, plan: Plan | undefined, err: unknown): void {
    if (!plan || !isCallerAbortedError(err)) return;
    const inFlight = call.attempts.findLast((a) => a.outcome === 'aborted');
    const model = inFlight && this.engine.catalog.get(inFlight.key);
    if (!model) return;
    const prompt = estimatePromptTokens(request, model);
    const usage = { prompt_tokens: prompt, completion_tokens: 0, total_tokens: prompt };
    rememberAbandonedStory(err, buildStory({ requestedModel: request.model, plan, call, model, usage, usageEstimated: true }));
  }

  private reportFailure(request: RoutedChatRequest, call: CallState, err: unknown): void {
    if (err instanceof GatewayError) this.listeners.emit('failure', { requestedModel: request.model, attempts: [...call.attempts], error: err });
  }
}

/**
 * The routing core: validates the config, resolves providers (or takes injected runtimes),
 * builds the catalog and returns the Switchyard the server, webhooks and connectors call.
 */
export function createSwitchyard(config: CoreConfigInput | CoreConfig, deps: SwitchyardDeps = {}): RoutingSwitchyard {
  return new SwitchyardImpl(parseConfig(config), deps);
}
