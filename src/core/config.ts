import { z } from 'zod';
import { CapabilitySchema, CatalogModelSchema, ModelCapabilitiesSchema, ModelPricingSchema, PreferSchema } from './routing/types';

/** Per provider (per API key) limits enforced with bottleneck. */
export const ProviderLimitsSchema = z.strictObject({
  max_concurrent: z.number().int().positive().optional(),
  requests_per_minute: z.number().int().positive().optional(),
  tokens_per_minute: z.number().int().positive().optional(),
});

/** A provider's base URL, from the file or from `<NAME>_BASE_URL`. */
export const HttpUrlSchema = z.url({ protocol: /^https?$/, error: 'not a valid http(s) URL' });

export const ProviderTypeSchema = z.enum(['openai', 'anthropic', 'gemini', 'openai-compatible', 'demo', 'local']);

export const ProviderConfigSchema = z.strictObject({
  /** Adapter family. For `openai-compatible`, `preset` picks the dialect (deepseek, groq, ollama, ...). */
  type: ProviderTypeSchema,
  preset: z.string().optional(),
  api_key: z.string().optional(),
  base_url: HttpUrlSchema.optional(),
  headers: z.record(z.string(), z.string()).optional(),
  limits: ProviderLimitsSchema.optional(),
  enabled: z.boolean().default(true),
  /** `local` provider: path to a GGUF model file. */
  model_path: z.string().optional(),
});

/**
 * Adds a model or overrides any field of a known one (matched by `key`). Strict at every level,
 * so a typo (`pricng`) is reported at start instead of silently ignored.
 */
export const ModelOverrideSchema = z.strictObject({
  ...CatalogModelSchema.partial().shape,
  key: z.string().min(3),
  pricing: ModelPricingSchema.strict().optional(),
  capabilities: ModelCapabilitiesSchema.strict().optional(),
  latency_prior: CatalogModelSchema.shape.latency_prior.strict().optional(),
});

/** How a rule's `prompt_matches` is compiled: validation and matching must agree on the flags. */
export function promptRegex(pattern: string): RegExp {
  return new RegExp(pattern, 'i');
}

/** A `prompt_matches` that compiles (the routing core itself reports only the first bad one, when it starts). */
export const PromptPatternSchema = z.string().superRefine((pattern, ctx) => {
  try {
    promptRegex(pattern);
  } catch (err) {
    ctx.addIssue({ code: 'custom', message: (err as Error).message });
  }
});

export const RuleSchema = z.strictObject({
  name: z.string().optional(),
  when: z.strictObject({
    /** Case-insensitive regular expression over the text of the user messages. */
    prompt_matches: z.string().optional(),
    tag: z.string().optional(),
    /** Every listed request metadata entry must be equal. */
    metadata: z.record(z.string(), z.string()).optional(),
    /** The requested model, e.g. "auto". */
    model: z.string().optional(),
    require: z.array(CapabilitySchema).optional(),
  }),
  use: z.array(z.string().min(1)).optional(),
  prefer: PreferSchema.optional(),
});

export const CircuitConfigSchema = z.strictObject({
  consecutive_failures: z.number().int().positive().default(5),
  failure_rate: z.number().min(0).max(1).default(0.5),
  window_ms: z.number().int().positive().default(60_000),
  min_requests: z.number().int().positive().default(10),
  cooldown_ms: z.number().int().positive().default(30_000),
  /** The longest a provider's Retry-After may keep a circuit open (a far-off date would remove a model for good). */
  max_cooldown_ms: z.number().int().positive().default(600_000),
});

export const RoutingConfigSchema = z.strictObject({
  default_prefer: PreferSchema.default('balanced'),
  /** Retries on the same model for retryable errors, before falling back. */
  retries_per_model: z.number().int().min(0).max(5).default(1),
  max_attempts: z.number().int().positive().max(20).default(4),
  backoff_base_ms: z.number().int().nonnegative().default(250),
  backoff_max_ms: z.number().int().positive().default(8_000),
  deadline_ms: z.number().int().positive().default(120_000),
  max_ttft_ms: z.number().int().positive().default(30_000),
  expected_output_tokens: z.number().int().positive().default(512),
  /** Fall back to another provider when one refuses content. */
  content_filter_fallback: z.boolean().default(false),
  rules: z.array(RuleSchema).default([]),
  circuit: CircuitConfigSchema.prefault({}),
});

export const CacheConfigSchema = z.strictObject({
  /** Cache temperature-0 requests without being asked. */
  temperature_zero: z.boolean().default(false),
  max_entries: z.number().int().positive().default(1000),
  ttl_ms: z.number().int().positive().default(300_000),
});

const ProviderNameSchema = z.string().regex(/^[a-z0-9][a-z0-9_-]*$/, 'invalid provider name: use lowercase letters, digits, - or _ (starting with a letter or digit)');

export const CoreConfigSchema = z.strictObject({
  providers: z.record(ProviderNameSchema, ProviderConfigSchema).default({}),
  models: z.array(ModelOverrideSchema).default([]),
  routing: RoutingConfigSchema.prefault({}),
  cache: CacheConfigSchema.prefault({}),
});

export type ProviderLimits = z.infer<typeof ProviderLimitsSchema>;
export type ProviderConfig = z.infer<typeof ProviderConfigSchema>;
export type ModelOverride = z.infer<typeof ModelOverrideSchema>;
export type Rule = z.infer<typeof RuleSchema>;
export type RoutingConfig = z.infer<typeof RoutingConfigSchema>;
export type CacheConfig = z.infer<typeof CacheConfigSchema>;
export type CoreConfig = z.infer<typeof CoreConfigSchema>;
export type CoreConfigInput = z.input<typeof CoreConfigSchema>;
