import { createHash } from 'node:crypto';
import { LRUCache } from 'lru-cache';
import type { Clock } from '../clock';
import type { CacheConfig } from '../config';
import type { ChatResponse } from '../schema';
import type { ModelPricing, RoutedChatRequest } from './types';

/** A stored answer and who gave it. */
export interface CachedAnswer {
  response: ChatResponse;
  /** Catalog key of the model that answered. */
  model: string;
  provider: string;
  pricing?: ModelPricing;
  /** Clock time it was stored. */
  storedAt: number;
}

/** Request fields that never change the answer: transport and bookkeeping. */
const IGNORED_FIELDS = new Set(['stream', 'stream_options', 'user', 'routing']);
/** Routing fields that only bound time or toggle the cache; the rest can change which model answers. */
const IGNORED_ROUTING_FIELDS = new Set(['cache', 'max_ttft_ms', 'max_latency_ms']);

/** JSON with object keys sorted, so equal requests give equal text whatever their key order. */
export function stableStringify(value: unknown): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value) ?? 'null';
  if (Array.isArray(value)) return `[${value.map((v) => stableStringify(v === undefined ? null : v)).join(',')}]`;
  const entries = Object.entries(value as Record<string, unknown>)
    .filter(([, v]) => v !== undefined)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${stableStringify(v)}`).join(',')}}`;
}

/** The cache key: a hash of every field that can change the answer (routing choices included). */
export function cacheKey(request: RoutedChatRequest): string {
  const normalized: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(request)) if (!IGNORED_FIELDS.has(k)) normalized[k] = v;
  if (request.routing) {
    const routing: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(request.routing)) if (!IGNORED_ROUTING_FIELDS.has(k)) routing[k] = v;
    normalized.routing = routing;
  }
  return createHash('sha256').update(stableStringify(normalized)).digest('base64url');
}

/**
 * Exact-match response cache (LRU + TTL on the injected clock). A request opts in with
 * `routing.cache: true`; with `temperature_zero` configured, temperature-0 requests are cached
 * unless they opt out with `routing.cache: false`.
 */
export class ResponseCache {
  private readonly lru: LRUCache<string, CachedAnswer>;

  constructor(
    private readonly config: CacheConfig,
    private readonly clock: Clock,
  ) {
    this.lru = new LRUCache<string, CachedAnswer>({
      max: config.max_entries,
      ttl: config.ttl_ms,
      ttlResolution: 0,
      perf: { now: () => clock.now() },
    });
  }

  wants(request: RoutedChatRequest): boolean {
    const opt = request.routing?.cache;
    if (opt !== undefined) return opt;
    return this.config.temperature_zero && request.temperature === 0;
  }

  get(key: string): CachedAnswer | undefined {
    const hit = this.lru.get(key);
    // Callers may mutate what they get; the stored answer stays intact.
    return hit ? structuredClone(hit) : undefined;
  }

  set(key: string, answer: Omit<CachedAnswer, 'storedAt'>): void {
    this.lru.set(key, structuredClone({ ...answer, storedAt: this.clock.now() }));
  }
}
