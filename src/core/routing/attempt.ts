import type { CallContext } from '../adapter';
import type { Clock } from '../clock';
import { CallerAbortError } from '../http';
import { GatewayError, ProviderError, redactSecrets } from '../errors';
import type { ProviderRuntime } from '../../providers/registry';
import { AbortRace } from './abort';
import type { HealthTracker } from './health';
import type { LimitPermit } from './limits';
import type { Attempt, CatalogModel } from './types';

const MAX_MESSAGE = 300;

/** What one routed call (all its attempts) shares. */
export interface CallState {
  readonly clock: Clock;
  readonly health: HealthTracker;
  readonly callerSignal?: AbortSignal;
  /** Clock time past which nothing more is tried. */
  readonly deadline: number;
  readonly deadlineMs: number;
  readonly startedAt: number;
  /**
   * Abandon an upstream without a first token by then. Streams always have one (the request's or the
   * config default). A non-streaming answer has no first token before it is complete, so there only
   * a value the request set itself applies, as the time to the response's first byte.
   */
  readonly maxTtftMs?: number;
  readonly attempts: Attempt[];
  readonly onAttempt?: (attempt: Attempt) => void;
}

export type AttemptFailure = { error: ProviderError } | { aborted: string };
export type AttemptResult = { ok: true; outputTokens?: number } | AttemptFailure;

/** Thrown to the caller when its own signal aborted the call. */
export function callerAbortedError(): GatewayError {
  return new GatewayError(499, 'request aborted by the caller', { type: 'request_aborted', code: 'request_aborted' });
}

export function isCallerAbortedError(err: unknown): err is GatewayError {
  return err instanceof GatewayError && err.code === 'request_aborted';
}

function toProviderError(err: unknown, provider: string): ProviderError {
  if (err instanceof ProviderError) return err;
  if (err instanceof CallerAbortError) return new ProviderError({ kind: 'upstream_error', provider, message: 'upstream call aborted', cause: err });
  const message = err instanceof Error ? err.message : String(err);
  return new ProviderError({ kind: 'upstream_error', provider, message: `adapter failed: ${message}`, cause: err });
}

/** Records an attempt that never reached the upstream (local limit, open circuit). */
export function recordSkip(
  call: CallState,
  model: CatalogModel,
  kind: 'rate_limited' | 'overloaded',
  message: string,
  retryAfterMs?: number,
): ProviderError {
  const attempt: Attempt = { key: model.key, provider: model.provider, outcome: kind, latencyMs: 0, message: redactSecrets(message) };
  call.attempts.push(attempt);
  call.onAttempt?.(attempt);
  return new ProviderError({ kind, provider: model.provider, message, retryAfterMs });
}

/**
 * One upstream call: its abort controller (linked to the caller's signal), the deadline and
 * time-to-first-token timers on the injected clock, the limiter permit, and, when it ends,
 * the attempt record and the health sample.
 */
/** Why the caller's signal aborted: its own reason when it gave one (e.g. a server shutting down), else "caller aborted". */
function callerAbortText(reason: unknown): string {
  return reason instanceof Error && !(reason instanceof DOMException) ? reason.message : 'caller aborted';
}

export class AttemptHandle {
  readonly controller = new AbortController();
  readonly startedAt: number;
  ttftMs?: number;
  private ourReason?: ProviderError;
  private cancelDeadline?: () => void;
  private cancelTtft?: () => void;
  private finished?: Attempt;
  private readonly onCallerAbort = () => this.controller.abort(new CallerAbortError());
  private readonly aborted = new AbortRace(this.controller.signal);

  constructor(
    private readonly call: CallState,
    readonly model: CatalogModel,
    readonly runtime: ProviderRuntime,
    private readonly permit?: LimitPermit,
  ) {
    this.startedAt = call.clock.now();
    if (call.callerSignal?.aborted) this.onCallerAbort();
    call.callerSignal?.addEventListener('abort', this.onCallerAbort, { once: true });
    const left = call.deadline - this.startedAt;
    this.cancelDeadline = this.arm(left, 'still running at the deadline');
  }

  /**
   * The adapter's context: credentials, our signal, the deadline as epoch time (adapters time with
   * Date.now()), and the first-byte timeout: max_ttft_ms when it applies, else the time left, so that
   * an adapter's own default never cuts a long answer the deadline still allows.
   */
  context(): CallContext {
    const left = Math.max(0, this.call.deadline - this.call.clock.now());
    return {
      credentials: this.runtime.credentials,
      signal: this.controller.signal,
      deadline: Date.now() + left,
      timeouts: { firstByteMs: this.call.maxTtftMs ?? left },
    };
  }

  /** Settles with `promise`, or rejects as soon as the attempt is aborted (deadline, TTFT, caller). */
  race<T>(promise: Promise<T>): Promise<T> {
    return this.aborted.race(promise);
  }

  /** Streams: abandon the upstream when no content arrives within max_ttft_ms. */
  startTtftTimer(): void {
    const ms = this.call.maxTtftMs;
    if (ms === undefined) return;
    // Not retried on the same model: a model this slow to start goes to the back, the next one is tried.
    this.cancelTtft = this.arm(ms, `no first token within ${ms} ms`, false);
  }

  markFirstToken(): void {
    if (this.ttftMs !== undefined) return;
    this.ttftMs = this.call.clock.now() - this.startedAt;
    this.cancelTtft?.();
  }

  /** Aborts the upstream call with a timeout of ours (or quietly, for a consumer that stopped reading). */
  abort(reason?: ProviderError): void {
    if (this.controller.signal.aborted) return;
    if (reason) this.ourReason = reason;
    this.controller.abort(reason ?? new CallerAbortError());
  }

  get callerAborted(): boolean {
    return this.call.callerSignal?.aborted === true;
  }

  /** What really ended the attempt: the caller, our own timer, or what the adapter threw. */
  classify(err: unknown): AttemptFailure {
    if (this.callerAborted) return { aborted: callerAbortText(this.call.callerSignal?.reason) };
    if (this.ourReason) return { error: this.ourReason };
    return { error: toProviderError(err, this.model.provider) };
  }

  /** Records the attempt and the health sample, releases the permit and the timers. Idempotent. */
  finish(result: AttemptResult): Attempt {
    if (this.finished) return this.finished;
    const latencyMs = this.call.clock.now() - this.startedAt;
    const attempt: Attempt = { key: this.model.key, provider: this.model.provider, outcome: 'ok', latencyMs };
    if (this.ttftMs !== undefined) attempt.ttftMs = this.ttftMs;
    if ('error' in result) {
      const err = result.error;
      attempt.outcome = err.kind;
      if (err.status !== undefined) attempt.status = err.status;
      attempt.message = redactSecrets(err.message).slice(0, MAX_MESSAGE);
      this.call.health.record(this.model.key, { ok: false, kind: err.kind, retryAfterMs: err.retryAfterMs });
    } else if ('aborted' in result) {
      attempt.outcome = 'aborted';
      attempt.message = result.aborted;
      if (this.ttftMs !== undefined) this.call.health.record(this.model.key, { ok: true, ttftMs: this.ttftMs });
      else this.call.health.release(this.model.key);
    } else {
      this.call.health.record(this.model.key, { ok: true, ttftMs: this.ttftMs, totalMs: latencyMs, outputTokens: result.outputTokens });
    }
    this.finished = attempt;
    this.dispose(result);
    this.call.attempts.push(attempt);
    this.call.onAttempt?.(attempt);
    return attempt;
  }

  private dispose(result: AttemptResult): void {
    // A failed or abandoned upstream call must not keep its connection.
    if (!('ok' in result)) this.abort();
    this.cancelDeadline?.();
    this.cancelTtft?.();
    this.call.callerSignal?.removeEventListener('abort', this.onCallerAbort);
    this.permit?.release();
  }

  /** Returns the timer's cancel function. */
  private arm(ms: number, message: string, retryable = true): () => void {
    return this.call.clock.timer(ms, () => this.abort(new ProviderError({ kind: 'timeout', provider: this.model.provider, message, retryable })));
  }
}
