import type { Clock, Random } from '../clock';
import type { RoutingConfig } from '../config';
import { GatewayError, ProviderError, gatewayErrorFromProvider } from '../errors';
import type { ChatRequest, ChatResponse } from '../schema';
import type { ProviderRuntime } from '../../providers/registry';
import { AttemptHandle, callerAbortedError, recordSkip, type CallState } from './attempt';
import { decide, type Exclusion } from './fallback';
import type { HealthTracker } from './health';
import type { LimitPermit, LimitsRegistry } from './limits';
import { estimateTokens, expectedOutputTokens, promptTokensFor, requestedOutputTokens } from './tokens';
import type { Attempt, Catalog, CatalogModel, PlannedCandidate, Plan, RoutedChatRequest } from './types';

/** Everything the executor needs that outlives one call. */
export interface Engine {
  readonly config: RoutingConfig;
  readonly catalog: Catalog;
  readonly runtimes: ReadonlyMap<string, ProviderRuntime>;
  readonly health: HealthTracker;
  readonly limits: LimitsRegistry;
  readonly clock: Clock;
  readonly random: Random;
}

/** Opens one attempt: resolves with what the caller gets, or throws what the upstream did. */
export type AttemptOpener<T> = (handle: AttemptHandle) => Promise<T>;

export interface Opened<T> {
  value: T;
  /** Still running: the caller finishes it (at once for complete(), at the end of a stream). */
  handle: AttemptHandle;
}

/** The request an adapter receives: the routing extension stripped, the provider's own model id. */
export function upstreamRequest(request: RoutedChatRequest, model: CatalogModel): ChatRequest {
  const { routing: _routing, models: _models, ...rest } = request;
  return { ...rest, model: model.model };
}

/** Tokens charged to a tokens-per-minute limit: the model's prompt estimate plus the expected answer, as plan() counts them. */
function expectedTokens(request: RoutedChatRequest, model: CatalogModel, config: RoutingConfig): number {
  const output = expectedOutputTokens(requestedOutputTokens(request) ?? config.expected_output_tokens, model);
  return promptTokensFor(estimateTokens(request), model) + output;
}

function describe(a: Attempt): string {
  const detail = a.status !== undefined ? ` (${a.status})` : a.message ? ` (${a.message.slice(0, 80)})` : '';
  return `${a.key} ${a.outcome}${detail}`;
}

/** The error a caller sees when nothing answered: the most relevant failure, with every attempt listed. */
function exhaustedError(call: CallState, last: ProviderError | undefined, deadlineHit = false): GatewayError {
  const list = call.attempts.map(describe).join('; ');
  if (deadlineHit) {
    return new GatewayError(504, `deadline of ${call.deadlineMs} ms exceeded after ${call.attempts.length} attempt(s)${list ? `: ${list}` : ''}`, {
      code: 'deadline_exceeded',
    });
  }
  if (!last) return new GatewayError(503, 'no candidate model could be tried', { code: 'no_candidate_available' });
  const base = gatewayErrorFromProvider(last);
  if (call.attempts.length <= 1) return base;
  const n = call.attempts.length;
  return new GatewayError(base.status, `all ${n} attempts failed: ${list}. Last error: ${base.message}`, {
    type: base.type,
    code: base.code,
    headers: base.headers,
  });
}

class CandidateRunner<T> {
  private readonly exclusions: Exclusion[] = [];
  private upstreamCalls = 0;
  private lastUpstream?: ProviderError;
  private lastLocal?: ProviderError;

  constructor(
    private readonly engine: Engine,
    private readonly call: CallState,
    private readonly request: RoutedChatRequest,
    private readonly plan: Plan,
    private readonly open: AttemptOpener<T>,
  ) {}

  async run(): Promise<Opened<T>> {
    for (const candidate of this.plan.candidates) {
      const model = this.engine.catalog.get(candidate.key);
      const runtime = model && this.engine.runtimes.get(model.provider);
      if (!model || !runtime || this.exclusions.some((e) => e.excludes(model))) continue;
      const opened = await this.tryModel(candidate, model, runtime);
      if (opened) return opened;
    }
    throw this.failure();
  }

  private failure(deadlineHit = false): GatewayError {
    return exhaustedError(this.call, this.lastUpstream ?? this.lastLocal, deadlineHit);
  }

  private checkBounds(): void {
    if (this.call.callerSignal?.aborted) throw callerAbortedError();
    if (this.engine.clock.now() >= this.call.deadline) throw this.failure(true);
    if (this.upstreamCalls >= this.engine.config.max_attempts) throw this.failure();
  }

  /** Tries one model, with retries; undefined means "go on with the next candidate". */
  private async tryModel(candidate: PlannedCandidate, model: CatalogModel, runtime: ProviderRuntime): Promise<Opened<T> | undefined> {
    const { clock, health, config, random } = this.engine;
    for (let retries = 0; ; retries++) {
      this.checkBounds();
      if (!health.admit(model.key)) {
        this.lastLocal = recordSkip(this.call, model, 'overloaded', 'circuit open: recent failures, not tried');
        return undefined;
      }
      const permit = await this.permit(candidate, model);
      if (permit === null) return undefined;
      this.upstreamCalls++;
      const handle = new AttemptHandle(this.call, model, runtime, permit);
      try {
        const value = await handle.race(this.open(handle));
        return { value, handle };
      } catch (err) {
        const result = handle.classify(err);
        handle.finish(result);
        if ('aborted' in result) throw callerAbortedError();
        this.lastUpstream = result.error;
        const now = clock.now();
        if (now >= this.call.deadline) throw this.failure(true);
        const decision = decide(result.error, { model, retries, timeLeftMs: this.call.deadline - now }, config, random);
        if (decision.action === 'stop') throw this.failure();
        if (decision.action === 'next') {
          if (decision.exclusion) this.exclusions.push(decision.exclusion);
          return undefined;
        }
        // This failure opened the model's circuit: no point waiting to be refused; the failure is the story.
        if (health.isOpen(model.key)) return undefined;
        await clock.sleep(decision.delayMs, this.call.callerSignal).catch(() => {
          throw callerAbortedError();
        });
      }
    }
  }

  /** A limiter permit; undefined when the provider has no limits, null when the call must go elsewhere. */
  private async permit(candidate: PlannedCandidate, model: CatalogModel): Promise<LimitPermit | undefined | null> {
    const limiter = this.engine.limits.get(model.provider);
    if (!limiter) return undefined;
    const decision = await limiter.acquire({
      tokens: expectedTokens(this.request, model, this.engine.config),
      budgetMs: this.budgetMs(),
      expectedCallMs: candidate.expectedLatencyMs,
      signal: this.call.callerSignal,
    });
    if (decision.ok) return decision.permit;
    // admit() may have made this call the circuit's probe; it never ran.
    this.engine.health.release(model.key);
    if (this.call.callerSignal?.aborted) throw callerAbortedError();
    const message = `local limit: ${decision.reason}; expected wait ${Math.round(decision.waitMs)} ms`;
    this.lastLocal = recordSkip(this.call, model, 'rate_limited', message, decision.waitMs);
    return null;
  }

  /** Time this call may still spend: the deadline, and the request's latency budget when it set one. */
  private budgetMs(): number {
    const now = this.engine.clock.now();
    const left = this.call.deadline - now;
    const maxLatency = this.request.routing?.max_latency_ms;
    return maxLatency === undefined ? left : Math.min(left, this.call.startedAt + maxLatency - now);
  }
}

/**
 * Tries the plan's candidates in order until one opens: retries, backoff, fallback rules, the
 * deadline, max_attempts, limits and circuits applied. Throws a GatewayError when nothing answered.
 */
export function runCandidates<T>(engine: Engine, call: CallState, request: RoutedChatRequest, plan: Plan, open: AttemptOpener<T>): Promise<Opened<T>> {
  return new CandidateRunner(engine, call, request, plan, open).run();
}

/** A 200 without an answer is a failed call, never a success. */
function assertAnswered(response: ChatResponse, provider: string): ChatResponse {
  if (!Array.isArray(response?.choices) || response.choices.length === 0) {
    throw new ProviderError({ kind: 'upstream_error', provider, message: 'upstream returned no choices: the answer is missing or truncated' });
  }
  return response;
}

/** Routed non-streaming call: the first complete answer and the attempt that produced it (finished). */
export async function executeComplete(engine: Engine, call: CallState, request: RoutedChatRequest, plan: Plan): Promise<Opened<ChatResponse>> {
  const opened = await runCandidates(engine, call, request, plan, async (handle) => {
    const response = await handle.runtime.adapter.complete(upstreamRequest(request, handle.model), handle.context());
    return assertAnswered(response, handle.model.provider);
  });
  opened.handle.finish({ ok: true, outputTokens: opened.value.usage?.completion_tokens });
  return opened;
}
