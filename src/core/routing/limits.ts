import Bottleneck from 'bottleneck';
import { createHash } from 'node:crypto';
import type { Clock } from '../clock';
import type { ProviderLimits } from '../config';
import { raceAbort } from './abort';

const MINUTE_MS = 60_000;
const HOLD_EWMA_ALPHA = 0.2;

/**
 * Bottleneck's clustering options, passed through untouched: with `datastore: 'ioredis'` (and
 * `clientOptions` / `clusterNodes` / `connection`) every gateway instance sharing the Redis
 * shares each provider key's limits. The default is in-process state.
 */
export type LimiterStoreOptions = Pick<
  Bottleneck.ConstructorOptions,
  'datastore' | 'clientOptions' | 'clusterNodes' | 'Redis' | 'connection' | 'clearDatastore' | 'timeout'
>;

export interface LimitRequest {
  /** Estimated prompt + output tokens, charged to `tokens_per_minute`. */
  tokens: number;
  /** Time left for the whole call; a longer expected wait sends the call elsewhere. */
  budgetMs: number;
  /** How long the upstream call should take once admitted. */
  expectedCallMs: number;
  signal?: AbortSignal;
}

export interface LimitPermit {
  /** Frees the concurrency slot; safe to call more than once. */
  release(): void;
}

export type LimitDecision = { ok: true; permit: LimitPermit } | { ok: false; waitMs: number; reason: string };

interface WaitEstimate {
  ms: number;
  reason: string;
}

function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

function keyId(provider: string, apiKey: string | undefined): string {
  const hash = createHash('sha256').update(apiKey ?? '').digest('hex').slice(0, 12);
  return `switchyard:${provider}:${hash}`;
}

/**
 * One provider key's limits: a bottleneck for concurrency and requests per minute (a job holds
 * its slot for the whole upstream call) and one for the tokens-per-minute reservoir (jobs weigh
 * their estimated tokens). Before queueing, the expected wait is compared with the call's budget.
 */
export class ProviderLimiter {
  private readonly requests?: Bottleneck;
  private readonly tokens?: Bottleneck;
  private readonly createdAt = Date.now();
  private holdMs?: number;
  private queuedTokens = 0;
  /** Slots held right now; closing hands them back so that bottleneck's stop() does not wait on them. */
  private readonly held = new Set<() => void>();

  constructor(
    readonly provider: string,
    private readonly limits: ProviderLimits,
    apiKey: string | undefined,
    private readonly clock: Clock,
    store: LimiterStoreOptions = {},
  ) {
    const id = keyId(provider, apiKey);
    const rpm = limits.requests_per_minute;
    if (limits.max_concurrent || rpm) {
      this.requests = new Bottleneck({
        ...store,
        id: `${id}:requests`,
        maxConcurrent: limits.max_concurrent ?? null,
        ...(rpm ? { reservoir: rpm, reservoirRefreshAmount: rpm, reservoirRefreshInterval: MINUTE_MS } : {}),
      });
    }
    const tpm = limits.tokens_per_minute;
    if (tpm) {
      this.tokens = new Bottleneck({ ...store, id: `${id}:tokens`, reservoir: tpm, reservoirRefreshAmount: tpm, reservoirRefreshInterval: MINUTE_MS });
    }
  }

  async acquire(req: LimitRequest): Promise<LimitDecision> {
    const weight = this.tokenWeight(req.tokens);
    const wait = await this.expectedWait(weight, req.expectedCallMs);
    if (wait.ms > 0 && wait.ms + req.expectedCallMs > req.budgetMs) {
      return { ok: false, waitMs: wait.ms, reason: wait.reason };
    }
    const started = this.clock.now();
    const cancel = new AbortController();
    const onCallerAbort = () => cancel.abort(new Error('caller aborted while queued'));
    req.signal?.addEventListener('abort', onCallerAbort, { once: true });
    const timeLeft = Math.max(0, req.budgetMs - req.expectedCallMs);
    const timer = this.clock.sleep(timeLeft, cancel.signal).then(
      () => cancel.abort(new Error(`still queued after ${timeLeft} ms`)),
      () => undefined,
    );
    try {
      await this.takeTokens(weight, cancel.signal);
      const permit = await this.takeSlot(cancel.signal);
      return { ok: true, permit };
    } catch (err) {
      const reason = errorText(cancel.signal.aborted ? cancel.signal.reason : err);
      return { ok: false, waitMs: this.clock.now() - started, reason: `${wait.reason || 'queued'}: ${reason}` };
    } finally {
      req.signal?.removeEventListener('abort', onCallerAbort);
      if (!cancel.signal.aborted) cancel.abort();
      await timer;
    }
  }

  async close(): Promise<void> {
    for (const release of [...this.held]) release();
    for (const limiter of [this.requests, this.tokens]) {
      if (!limiter) continue;
      await limiter.stop({ dropWaitingJobs: true, dropErrorMessage: 'switchyard closed' }).catch(() => undefined);
      await limiter.disconnect().catch(() => undefined);
    }
  }

  private tokenWeight(tokens: number): number {
    const tpm = this.limits.tokens_per_minute;
    // A call bigger than the whole per-minute budget would otherwise never start.
    return tpm ? Math.min(tpm, Math.max(1, Math.ceil(tokens))) : 0;
  }

  private msUntilRefresh(): number {
    return MINUTE_MS - ((Date.now() - this.createdAt) % MINUTE_MS);
  }

  private async expectedWait(weight: number, expectedCallMs: number): Promise<WaitEstimate> {
    const estimates: WaitEstimate[] = [this.concurrencyWait(expectedCallMs), await this.requestsWait(), await this.tokensWait(weight)];
    return estimates.reduce((a, b) => (b.ms > a.ms ? b : a), { ms: 0, reason: '' });
  }

  private concurrencyWait(expectedCallMs: number): WaitEstimate {
    const max = this.limits.max_concurrent;
    if (!max || !this.requests) return { ms: 0, reason: '' };
    const c = this.requests.counts();
    const busy = c.RUNNING + c.EXECUTING;
    const queued = c.RECEIVED + c.QUEUED;
    if (busy + queued < max) return { ms: 0, reason: '' };
    const waves = Math.floor((busy + queued - max) / max) + 1;
    return {
      ms: waves * (this.holdMs ?? expectedCallMs),
      reason: `max_concurrent ${max} reached (${busy} running, ${queued} queued)`,
    };
  }

  private async requestsWait(): Promise<WaitEstimate> {
    const rpm = this.limits.requests_per_minute;
    if (!rpm || !this.requests) return { ms: 0, reason: '' };
    const left = (await this.requests.currentReservoir()) ?? rpm;
    const c = this.requests.counts();
    const queued = c.RECEIVED + c.QUEUED;
    if (left - queued >= 1) return { ms: 0, reason: '' };
    const extraMinutes = Math.floor((queued - left) / rpm);
    return { ms: this.msUntilRefresh() + extraMinutes * MINUTE_MS, reason: `requests_per_minute ${rpm} used up` };
  }

  private async tokensWait(weight: number): Promise<WaitEstimate> {
    const tpm = this.limits.tokens_per_minute;
    if (!tpm || !this.tokens) return { ms: 0, reason: '' };
    const left = (await this.tokens.currentReservoir()) ?? tpm;
    const need = this.queuedTokens + weight;
    if (left >= need) return { ms: 0, reason: '' };
    const extraMinutes = Math.floor((need - left - 1) / tpm);
    return {
      ms: this.msUntilRefresh() + extraMinutes * MINUTE_MS,
      reason: `tokens_per_minute ${tpm} used up (this call needs ~${weight}, ${Math.max(0, left)} left)`,
    };
  }

  private async takeTokens(weight: number, cancelled: AbortSignal): Promise<void> {
    if (!this.tokens || weight === 0) return;
    this.queuedTokens += weight;
    let counted = true;
    const uncount = () => {
      if (counted) this.queuedTokens -= weight;
      counted = false;
    };
    // The job only draws `weight` from the reservoir; it holds nothing.
    const taken = this.tokens.schedule({ weight }, async () => uncount());
    try {
      await raceAbort(taken, cancelled);
    } finally {
      uncount();
    }
  }

  private async takeSlot(cancelled: AbortSignal): Promise<LimitPermit> {
    if (!this.requests) return { release: () => undefined };
    let release!: () => void;
    const held = new Promise<void>((resolve) => (release = resolve));
    let onStart!: () => void;
    const started = new Promise<void>((resolve) => (onStart = resolve));
    const job = this.requests.schedule(() => {
      // A slot granted after the caller gave up is handed straight back.
      if (cancelled.aborted) return Promise.resolve();
      onStart();
      return held;
    });
    job.catch(() => undefined);
    await raceAbort(Promise.race([started, job.then(() => Promise.reject(new Error('slot lost')))]), cancelled);
    const acquiredAt = this.clock.now();
    const releaseOnce = () => {
      if (!this.held.delete(releaseOnce)) return;
      const heldMs = this.clock.now() - acquiredAt;
      this.holdMs = this.holdMs === undefined ? heldMs : this.holdMs + HOLD_EWMA_ALPHA * (heldMs - this.holdMs);
      release();
    };
    this.held.add(releaseOnce);
    return { release: releaseOnce };
  }
}

/** Every configured provider's limiter, by provider name. */
export class LimitsRegistry {
  private readonly limiters = new Map<string, ProviderLimiter>();

  constructor(
    providers: ReadonlyArray<{ name: string; limits?: ProviderLimits; credentials: { apiKey?: string } }>,
    clock: Clock,
    store?: LimiterStoreOptions,
  ) {
    for (const p of providers) {
      const l = p.limits;
      if (!l || !(l.max_concurrent || l.requests_per_minute || l.tokens_per_minute)) continue;
      this.limiters.set(p.name, new ProviderLimiter(p.name, l, p.credentials.apiKey, clock, store));
    }
  }

  /** Undefined when the provider has no limits (the call then goes straight out). */
  get(provider: string): ProviderLimiter | undefined {
    return this.limiters.get(provider);
  }

  async close(): Promise<void> {
    await Promise.all([...this.limiters.values()].map((l) => l.close()));
  }
}
