import type { Clock } from '../clock';
import type { RoutingConfig } from '../config';
import type { ErrorKind } from '../errors';
import type { HealthView, LatencyEstimate } from './types';

type CircuitConfig = RoutingConfig['circuit'];

export type CircuitState = 'closed' | 'open' | 'half_open';

/** What one finished call tells the health tracker. */
export type HealthSample = { ok: true; ttftMs?: number; totalMs?: number; outputTokens?: number } | { ok: false; kind: ErrorKind; retryAfterMs?: number };

/**
 * Failures that say the model (or its provider) is unwell: rate limits, overload, timeouts, 5xx and
 * cut connections (a stream abandoned for a late first token too). The others (auth, a rejected
 * request, context length, content filter) are about the request or the config: they are not counted,
 * though a probe that gets one ends the open circuit, since the upstream did answer.
 */
const MODEL_FAULTS: ReadonlySet<ErrorKind> = new Set(['rate_limited', 'overloaded', 'timeout', 'upstream_error']);

export interface HealthSnapshot {
  key: string;
  state: CircuitState;
  ttftMs?: number;
  totalMs?: number;
  errorRate: number;
  requests: number;
  consecutiveFailures: number;
  /** While open: when a probe will be admitted (clock time). */
  openUntil?: number;
}

export interface CircuitTransition {
  key: string;
  from: CircuitState;
  to: CircuitState;
  at: number;
  reason: string;
}

const BUCKETS = 10;
/** Weight of the newest sample in the latency EWMAs. */
const EWMA_ALPHA = 0.3;

interface Bucket {
  start: number;
  total: number;
  failures: number;
}

class ModelHealth {
  state: CircuitState = 'closed';
  consecutiveFailures = 0;
  openUntil = 0;
  probeStartedAt?: number;
  ttft?: number;
  total?: number;
  /** Output tokens of the calls `total` measured (EWMA), when they reported usage. */
  output?: number;
  lastSampleAt = -Infinity;
  buckets: Bucket[] = [];
}

function ewma(prev: number | undefined, sample: number): number {
  return prev === undefined ? sample : prev + EWMA_ALPHA * (sample - prev);
}

/**
 * Per provider+model health: latency EWMAs, failure rate over a sliding window and a circuit
 * breaker. Only MODEL_FAULTS count against a model; a rejected request says nothing about its health.
 *
 * Latency measurements older than the window are forgotten, so plans fall back to the catalog's
 * priors and the next request acts as a probe: a model that became slow gets traffic again once
 * it has had time to recover.
 */
export class HealthTracker implements HealthView {
  private readonly models = new Map<string, ModelHealth>();
  private readonly bucketMs: number;

  constructor(
    private readonly config: CircuitConfig,
    private readonly clock: Clock,
    private readonly onTransition?: (t: CircuitTransition) => void,
  ) {
    this.bucketMs = Math.max(1, Math.ceil(config.window_ms / BUCKETS));
  }

  isOpen(key: string): boolean {
    const h = this.models.get(key);
    if (!h || h.state === 'closed') return false;
    if (h.state === 'open') return this.clock.now() < h.openUntil;
    return this.probeInFlight(h);
  }

  latency(key: string): LatencyEstimate | undefined {
    const h = this.models.get(key);
    if (!h || h.total === undefined || this.clock.now() - h.lastSampleAt > this.config.window_ms) return undefined;
    const estimate: LatencyEstimate = { ttftMs: h.ttft ?? h.total, totalMs: h.total };
    if (h.output !== undefined) estimate.outputTokens = h.output;
    return estimate;
  }

  errorRate(key: string): number {
    const h = this.models.get(key);
    if (!h) return 0;
    const { total, failures } = this.windowCounts(h);
    return total === 0 ? 0 : failures / total;
  }

  state(key: string): CircuitState {
    const h = this.models.get(key);
    if (!h) return 'closed';
    if (h.state === 'open' && this.clock.now() >= h.openUntil) return 'half_open';
    return h.state;
  }

  /**
   * May a call go to this model now? Closed: yes. Open past its cooldown: it turns half-open
   * and this call becomes the single probe. Half-open with a probe in flight, or open: no.
   */
  admit(key: string): boolean {
    const h = this.models.get(key);
    if (!h || h.state === 'closed') return true;
    const now = this.clock.now();
    if (h.state === 'open') {
      if (now < h.openUntil) return false;
      this.transition(key, h, 'half_open', 'cooldown over: admitting one probe');
    } else if (this.probeInFlight(h)) {
      return false;
    }
    h.probeStartedAt = now;
    return true;
  }

  /** When the model's open circuit admits a probe again (undefined when not open). */
  reopensIn(key: string): number | undefined {
    const h = this.models.get(key);
    if (!h || h.state !== 'open') return undefined;
    return Math.max(0, h.openUntil - this.clock.now());
  }

  record(key: string, sample: HealthSample): void {
    const h = this.entry(key);
    const now = this.clock.now();
    if (sample.ok) {
      this.recordLatency(h, sample, now);
      this.count(h, now, false);
      h.consecutiveFailures = 0;
      if (h.state !== 'closed') this.transition(key, h, 'closed', 'probe succeeded');
      return;
    }
    if (!MODEL_FAULTS.has(sample.kind)) {
      // The upstream answered; the request was at fault. Ends a probe like a success would.
      if (h.state === 'half_open') this.transition(key, h, 'closed', `probe answered (${sample.kind})`);
      return;
    }
    this.count(h, now, true);
    h.consecutiveFailures++;
    if (h.state === 'half_open') return this.open(key, h, sample, `probe failed (${sample.kind})`);
    if (h.state === 'open') return;
    const tripped = this.tripReason(h);
    if (tripped) this.open(key, h, sample, tripped);
  }

  /** A probe ended without a verdict (the caller went away): let another probe in. */
  release(key: string): void {
    const h = this.models.get(key);
    if (h) h.probeStartedAt = undefined;
  }

  snapshot(): HealthSnapshot[] {
    return [...this.models.entries()].map(([key, h]) => {
      const { total, failures } = this.windowCounts(h);
      const latency = this.latency(key);
      return {
        key,
        state: this.state(key),
        ttftMs: latency?.ttftMs,
        totalMs: latency?.totalMs,
        errorRate: total === 0 ? 0 : failures / total,
        requests: total,
        consecutiveFailures: h.consecutiveFailures,
        openUntil: h.state === 'open' ? h.openUntil : undefined,
      };
    });
  }

  private entry(key: string): ModelHealth {
    let h = this.models.get(key);
    if (!h) {
      h = new ModelHealth();
      this.models.set(key, h);
    }
    return h;
  }

  private probeInFlight(h: ModelHealth): boolean {
    // A probe whose verdict never came (a bug, a lost promise) must not block the model forever.
    return h.probeStartedAt !== undefined && this.clock.now() - h.probeStartedAt < this.config.cooldown_ms;
  }

  private tripReason(h: ModelHealth): string | undefined {
    if (h.consecutiveFailures >= this.config.consecutive_failures) {
      return `${h.consecutiveFailures} consecutive failures`;
    }
    const { total, failures } = this.windowCounts(h);
    if (total >= this.config.min_requests && failures / total >= this.config.failure_rate) {
      return `failure rate ${Math.round((failures / total) * 100)}% over ${total} requests`;
    }
    return undefined;
  }

  private open(key: string, h: ModelHealth, sample: { retryAfterMs?: number }, reason: string): void {
    const cooldown = Math.max(this.config.cooldown_ms, Math.min(sample.retryAfterMs ?? 0, this.config.max_cooldown_ms));
    h.openUntil = this.clock.now() + cooldown;
    h.probeStartedAt = undefined;
    this.transition(key, h, 'open', `${reason}; cooling down ${cooldown} ms`);
  }

  private transition(key: string, h: ModelHealth, to: CircuitState, reason: string): void {
    const from = h.state;
    h.state = to;
    if (to === 'closed') h.probeStartedAt = undefined;
    this.onTransition?.({ key, from, to, at: this.clock.now(), reason });
  }

  private recordLatency(h: ModelHealth, sample: { ttftMs?: number; totalMs?: number; outputTokens?: number }, now: number): void {
    if (sample.totalMs === undefined && sample.ttftMs === undefined) return;
    if (now - h.lastSampleAt > this.config.window_ms) {
      // Stale measurements are forgotten rather than averaged with fresh ones.
      h.ttft = undefined;
      h.total = undefined;
      h.output = undefined;
    }
    if (sample.ttftMs !== undefined) h.ttft = ewma(h.ttft, sample.ttftMs);
    // A first token alone (a stream its caller left early) says nothing about the whole answer's time.
    if (sample.totalMs !== undefined) h.total = ewma(h.total, sample.totalMs);
    if (sample.totalMs !== undefined && sample.outputTokens !== undefined) h.output = ewma(h.output, sample.outputTokens);
    h.lastSampleAt = now;
  }

  private count(h: ModelHealth, now: number, failed: boolean): void {
    const start = now - (now % this.bucketMs);
    let last = h.buckets[h.buckets.length - 1];
    if (!last || last.start !== start) {
      last = { start, total: 0, failures: 0 };
      h.buckets.push(last);
    }
    last.total++;
    if (failed) last.failures++;
    this.prune(h, now);
  }

  private prune(h: ModelHealth, now: number): void {
    const oldest = now - this.config.window_ms;
    while (h.buckets[0] && h.buckets[0].start + this.bucketMs <= oldest) h.buckets.shift();
  }

  private windowCounts(h: ModelHealth): { total: number; failures: number } {
    this.prune(h, this.clock.now());
    let total = 0;
    let failures = 0;
    for (const b of h.buckets) {
      total += b.total;
      failures += b.failures;
    }
    return { total, failures };
  }
}
