import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { RouteStory } from '../core/routing/types';

/** State of one model's circuit breaker, as /metrics reports it. */
export interface CircuitState {
  key: string;
  provider: string;
  open: boolean;
}

export interface ChatObservation {
  status: number;
  stream: boolean;
  /** The story when some upstream answered or every candidate failed with a known story. */
  story?: RouteStory;
  durationMs: number;
}

/** Statuses the gateway answers chat requests with; any other becomes its class ("4xx"), keeping the label set bounded. */
const KNOWN_STATUSES = new Set([200, 400, 401, 403, 404, 408, 413, 415, 422, 429, 499, 500, 502, 503, 504]);

export function statusLabel(status: number): string {
  return KNOWN_STATUSES.has(status) ? String(status) : `${Math.floor(status / 100)}xx`;
}

const LATENCY_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120];

/**
 * A counter child's increments, added up here and handed to prom-client when the registry is read
 * (the counters' collect()): prom-client hashes and validates the labels on every inc(), and a
 * streamed chat request makes six of them.
 */
class PendingCount {
  private pending = 0;

  constructor(private readonly child: { inc(v: number): void }) {}

  inc(v = 1): void {
    if (v > 0) this.pending += v;
  }

  flush(): void {
    if (this.pending === 0) return;
    this.child.inc(this.pending);
    this.pending = 0;
  }
}

/**
 * Prometheus metrics of one app, in its own registry (several apps can share a process).
 * Children are cached by label values: prom-client hashes labels on every call otherwise.
 */
export class Metrics {
  readonly registry = new Registry();
  private readonly requests: Counter<'model' | 'provider' | 'status' | 'stream'>;
  private readonly duration: Histogram<'model' | 'provider' | 'status' | 'stream'>;
  private readonly ttft: Histogram<'model' | 'provider'>;
  private readonly tokens: Counter<'model' | 'provider' | 'type'>;
  private readonly cost: Counter<'model' | 'provider'>;
  private readonly attempts: Counter<'model' | 'provider' | 'outcome'>;
  private readonly cacheHits: Counter;
  private readonly http: Counter<'route' | 'status'>;
  readonly inFlight: Gauge;
  private readonly counters = new Map<string, PendingCount>();
  private readonly histograms = new Map<string, { observe(v: number): void }>();

  constructor(opts: { circuits?: () => CircuitState[]; defaultMetrics?: boolean } = {}) {
    const registers = [this.registry];
    const collect = () => this.flushCounts();
    this.requests = new Counter({ name: 'switchyard_chat_requests_total', help: 'Chat completion requests by answering model, provider and HTTP status.', labelNames: ['model', 'provider', 'status', 'stream'], registers, collect });
    this.duration = new Histogram({ name: 'switchyard_chat_duration_seconds', help: 'Total time of a chat completion, fallbacks included, by answering model, provider and HTTP status.', labelNames: ['model', 'provider', 'status', 'stream'], buckets: LATENCY_BUCKETS, registers });
    this.ttft = new Histogram({ name: 'switchyard_chat_ttft_seconds', help: 'Time to the first token of the answering upstream.', labelNames: ['model', 'provider'], buckets: LATENCY_BUCKETS, registers });
    this.tokens = new Counter({ name: 'switchyard_tokens_total', help: 'Tokens by model, provider and type (prompt, completion).', labelNames: ['model', 'provider', 'type'], registers, collect });
    this.cost = new Counter({ name: 'switchyard_cost_usd_total', help: 'Cost in USD, from the usage providers reported.', labelNames: ['model', 'provider'], registers, collect });
    this.attempts = new Counter({ name: 'switchyard_upstream_attempts_total', help: 'Upstream attempts by model, provider and outcome (ok or error kind).', labelNames: ['model', 'provider', 'outcome'], registers, collect });
    this.cacheHits = new Counter({ name: 'switchyard_cache_hits_total', help: 'Answers served from the response cache.', registers, collect });
    this.http = new Counter({ name: 'switchyard_http_requests_total', help: 'HTTP requests by route and status.', labelNames: ['route', 'status'], registers, collect });
    this.inFlight = new Gauge({ name: 'switchyard_in_flight_requests', help: 'Chat requests being answered now.', registers });
    const circuits = opts.circuits;
    if (circuits) {
      new Gauge({
        name: 'switchyard_circuit_open',
        help: '1 while the circuit breaker of a model is open (the model is skipped).',
        labelNames: ['model', 'provider'],
        registers,
        collect() {
          this.reset();
          for (const c of circuits()) this.set({ model: c.key, provider: c.provider }, c.open ? 1 : 0);
        },
      });
    }
    if (opts.defaultMetrics !== false) collectDefaultMetrics({ register: this.registry });
  }

  private counter(key: string, make: () => { inc(v: number): void }): PendingCount {
    let c = this.counters.get(key);
    if (!c) {
      c = new PendingCount(make());
      this.counters.set(key, c);
    }
    return c;
  }

  private flushCounts(): void {
    for (const c of this.counters.values()) c.flush();
  }

  private histogram(key: string, make: () => { observe(v: number): void }) {
    let h = this.histograms.get(key);
    if (!h) {
      h = make();
      this.histograms.set(key, h);
    }
    return h;
  }

  httpRequest(route: string, status: number): void {
    this.counter(`h|${route}|${status}`, () => this.http.labels(route, String(status))).inc();
  }

  chat(o: ChatObservation): void {
    const model = o.story?.model ?? 'none';
    const provider = o.story?.provider ?? 'none';
    const stream = o.stream ? 'true' : 'false';
    const status = statusLabel(o.status);
    this.counter(`r|${model}|${provider}|${status}|${stream}`, () => this.requests.labels(model, provider, status, stream)).inc();
    this.histogram(`d|${model}|${provider}|${status}|${stream}`, () => this.duration.labels(model, provider, status, stream)).observe(o.durationMs / 1000);
    const story = o.story;
    if (!story) return;
    if (story.ttftMs !== undefined) this.histogram(`t|${model}|${provider}`, () => this.ttft.labels(model, provider)).observe(story.ttftMs / 1000);
    if (story.usage) {
      this.counter(`p|${model}|${provider}`, () => this.tokens.labels(model, provider, 'prompt')).inc(story.usage.prompt_tokens);
      this.counter(`c|${model}|${provider}`, () => this.tokens.labels(model, provider, 'completion')).inc(story.usage.completion_tokens);
    }
    if (story.costUsd > 0) this.counter(`$|${model}|${provider}`, () => this.cost.labels(model, provider)).inc(story.costUsd);
    if (story.cached) this.counter('cache', () => this.cacheHits).inc();
    for (const a of story.attempts) {
      this.counter(`a|${a.key}|${a.provider}|${a.outcome}`, () => this.attempts.labels(a.key, a.provider, a.outcome)).inc();
    }
  }

  async render(): Promise<{ contentType: string; body: string }> {
    return { contentType: this.registry.contentType, body: await this.registry.metrics() };
  }
}
