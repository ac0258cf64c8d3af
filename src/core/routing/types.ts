import { z } from 'zod';
import { ChatRequestSchema, type ChatResponse, type ChatChunk, type Usage } from '../schema';
import type { ErrorKind } from '../errors';

export const PreferSchema = z.enum(['cost', 'latency', 'quality', 'balanced']);
export const CapabilitySchema = z.enum(['tools', 'vision', 'json_schema']);

/** The routing extension of a chat request (body `routing`, or header `x-switchyard-route`). */
export const RoutingOptionsSchema = z.strictObject({
  prefer: PreferSchema.optional(),
  max_cost_usd: z.number().positive().optional(),
  max_latency_ms: z.number().int().positive().optional(),
  /**
   * Streams: abandon an upstream that has sent no content in this time and try the next (default:
   * the config's routing.max_ttft_ms). Non-streaming calls, whose first byte comes with the whole
   * answer, get this limit on their first byte only when the request sets it.
   */
  max_ttft_ms: z.number().int().positive().optional(),
  require: z.array(CapabilitySchema).optional(),
  providers: z
    .strictObject({ allow: z.array(z.string()).optional(), deny: z.array(z.string()).optional() })
    .optional(),
  fallback_models: z.array(z.string().min(1)).optional(),
  /** Opt in to (or out of) the exact-match response cache for this request. */
  cache: z.boolean().optional(),
  /** Free-form tags that rules can match on (`when: { tag }`). */
  tags: z.array(z.string()).optional(),
});

/** A chat request as the gateway accepts it: OpenAI's, plus `routing` and an ordered `models` list. */
export const RoutedChatRequestSchema = ChatRequestSchema.extend({
  routing: RoutingOptionsSchema.optional(),
  /**
   * Candidates in the order to try them (OpenRouter style): a specific `model` goes first, then these;
   * with `model: "auto"` (or a shorthand, which still sets prefer) only these. An "auto" entry stands for
   * the whole catalog, ranked.
   */
  models: z.array(z.string().min(1)).min(1).optional(),
});

export const ModelCapabilitiesSchema = z.object({
  tools: z.boolean(),
  json_schema: z.boolean(),
  vision: z.boolean(),
  streaming: z.boolean(),
});

/** Prices in USD per 1M tokens. */
const TokenPricesSchema = z.object({
  input: z.number().nonnegative(),
  cached_input: z.number().nonnegative().optional(),
  /** Prompt tokens written to a provider's prompt cache (Anthropic bills them above the input price). */
  cache_write_input: z.number().nonnegative().optional(),
  output: z.number().nonnegative(),
});

/** USD per 1M tokens. */
export const ModelPricingSchema = TokenPricesSchema.extend({
  /**
   * Long-context prices (Gemini Pro above 200k prompt tokens): a call whose prompt has more than
   * `above_prompt_tokens` tokens pays the tier's prices for all its tokens; fields a tier leaves
   * out keep the lower tier's price. Ordered by threshold.
   */
  tiers: z.array(TokenPricesSchema.partial().extend({ above_prompt_tokens: z.number().int().nonnegative() })).optional(),
});

export const CatalogModelSchema = z.object({
  /** Unique gateway id, `provider/model`, e.g. "openai/gpt-4.1-mini". */
  key: z.string(),
  provider: z.string(),
  /** The id the provider's API expects. */
  model: z.string(),
  aliases: z.array(z.string()).default([]),
  pricing: ModelPricingSchema,
  context_window: z.number().int().positive(),
  max_output_tokens: z.number().int().positive(),
  capabilities: ModelCapabilitiesSchema,
  /** 0-100, higher is better; from the override file or config. */
  quality: z.number().min(0).max(100),
  /** Priors used until live latency is measured. */
  latency_prior: z.object({ ttft_ms: z.number().positive(), tokens_per_second: z.number().positive() }),
  /** Where price data came from, e.g. "genai-prices@0.1.8", "override", "config". */
  price_source: z.string().optional(),
});

export type Prefer = z.infer<typeof PreferSchema>;
export type Capability = z.infer<typeof CapabilitySchema>;
export type RoutingOptions = z.infer<typeof RoutingOptionsSchema>;
export type RoutedChatRequest = z.infer<typeof RoutedChatRequestSchema>;
export type CatalogModel = z.infer<typeof CatalogModelSchema>;
export type ModelPricing = z.infer<typeof ModelPricingSchema>;

/** One model's place in a plan. */
export interface PlannedCandidate {
  key: string;
  provider: string;
  score: number;
  expectedCostUsd: number;
  /** The most the call can cost: the prompt plus the request's output limit, or the model's (what budgets reserve). */
  maxCostUsd: number;
  expectedLatencyMs: number;
}

export interface ExcludedCandidate {
  key: string;
  reason: string;
}

/** The explainable routing decision `plan()` returns. */
export interface Plan {
  /** Ranked best first; the router tries them in this order. */
  candidates: PlannedCandidate[];
  excluded: ExcludedCandidate[];
  prefer: Prefer;
  /** Name of the config rule that fired, if any. */
  rule?: string;
  estimatedPromptTokens: number;
  /** One sentence a user can read: why the first candidate. */
  reason: string;
}

export interface Attempt {
  key: string;
  provider: string;
  outcome: 'ok' | ErrorKind | 'aborted';
  latencyMs: number;
  ttftMs?: number;
  status?: number;
  message?: string;
}

/** What the caller is told about how its request was answered. */
export interface RouteStory {
  requestedModel: string;
  /** Catalog key of the model that answered. */
  model: string;
  provider: string;
  attempts: Attempt[];
  costUsd: number;
  pricing?: ModelPricing;
  usage?: Usage;
  /** The upstream reported no usage (a stream cut short, or a server that never reports it): `usage` is our estimate. */
  usageEstimated?: boolean;
  cached: boolean;
  reason: string;
  latencyMs: number;
  ttftMs?: number;
  plan: Pick<Plan, 'candidates' | 'excluded' | 'prefer' | 'rule'>;
}

export interface PlanOptions {
  /** Only these catalog keys may be planned (a gateway key's allow-list, matched already); the rest is excluded. */
  onlyModels?: readonly string[];
}

export interface CallOptions {
  signal?: AbortSignal;
  /** Overall deadline for the call, fallbacks included (ms from now). */
  deadlineMs?: number;
  /**
   * What this switchyard's plan() returned for this same request a moment before (the server
   * plans a keyed request to price it): taken as it is instead of planning again.
   */
  plan?: Plan;
}

export interface RoutedCompletion {
  response: ChatResponse;
  story: RouteStory;
}

/**
 * A stream whose upstream has already produced its first chunk, so the model is known.
 * `chunks` throws a ProviderError with `partial: true` if the upstream fails after content was sent.
 */
export interface RoutedStream {
  model: string;
  provider: string;
  /** Upstream attempts so far, the one streaming included (0 for a cache hit). */
  attempts: number;
  cached: boolean;
  chunks: AsyncIterable<ChatChunk>;
  /** Resolves when the stream has ended, with the final story (usage, cost). */
  story: Promise<RouteStory>;
}

/** Live latency of one model, as the health tracker measures it. */
export interface LatencyEstimate {
  ttftMs: number;
  totalMs: number;
  /** Output tokens of the measured calls, when known: plans scale totalMs to a request's own output. */
  outputTokens?: number;
}

/** What plan() may read about health: a pure view, so plans stay deterministic in tests. */
export interface HealthView {
  /** True while the model's circuit is open (it is then excluded at zero cost). */
  isOpen(key: string): boolean;
  /** EWMA latency, or undefined before the first measurement (plan() then uses the prior). */
  latency(key: string): LatencyEstimate | undefined;
  /** Failure rate over the sliding window, 0..1. */
  errorRate(key: string): number;
}

/** The model catalog: every known model, with lookup by key or alias. */
export interface Catalog {
  readonly models: readonly CatalogModel[];
  get(key: string): CatalogModel | undefined;
  /** Models a name refers to: a key ("openai/gpt-4.1-mini"), a bare id or an alias ("gpt-4.1-mini"). */
  resolve(name: string): CatalogModel[];
}
