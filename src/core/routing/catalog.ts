import { calcPrice, type ModelPrice, type PriceCalculation } from '@pydantic/genai-prices';
import { z } from 'zod';
import type { ModelOverride, ProviderConfig } from '../config';
import { formatPath } from '../errors';
import {
  CapabilitySchema,
  CatalogModelSchema,
  ModelPricingSchema,
  type Catalog,
  type CatalogModel,
  type ModelPricing,
} from './types';
import overridesFile from './model-overrides.json';

/**
 * The model catalog: prices and context windows from @pydantic/genai-prices' bundled data (never its network
 * update), everything that data lacks from model-overrides.json, then config overrides on top.
 */

const ListedCapabilitySchema = z.union([CapabilitySchema, z.literal('streaming')]);

const CapabilityListSchema = z.array(ListedCapabilitySchema).transform((list) => ({
  tools: list.includes('tools'),
  json_schema: list.includes('json_schema'),
  vision: list.includes('vision'),
  streaming: list.includes('streaming'),
}));

/** Fields a family sets as defaults and a model may override. */
const ModelFieldsSchema = z.strictObject({
  $comment: z.string().optional(),
  capabilities: CapabilityListSchema.optional(),
  latency_prior: CatalogModelSchema.shape.latency_prior.optional(),
  max_output_tokens: z.number().int().positive().optional(),
  /** Only fills a gap: genai-prices' context window wins when it has one. */
  context_window: z.number().int().positive().optional(),
  /** Hand-typed prices: only for families genai-prices does not cover (demo, local servers). */
  pricing: ModelPricingSchema.optional(),
});

const FileModelSchema = ModelFieldsSchema.extend({
  /** The id the provider's API expects. */
  model: z.string().min(1),
  /** The genai-prices model id to price this model by, when it differs from `model`. */
  price_id: z.string().min(1).optional(),
  quality: z.number().min(0).max(100),
  aliases: z.array(z.string().min(1)).optional(),
});

const FamilySchema = z
  .strictObject({
    $comment: z.string().optional(),
    /** genai-prices provider id; absent for families it does not cover. */
    genai_prices_provider: z.string().min(1).optional(),
    defaults: ModelFieldsSchema.prefault({}),
    models: z.array(FileModelSchema),
  })
  .superRefine((family, ctx) => {
    family.models.forEach((m, i) => {
      if (family.genai_prices_provider && m.pricing) {
        ctx.addIssue({ code: 'custom', path: ['models', i, 'pricing'], message: 'prices of this family come from genai-prices, not from this file' });
      }
      if (!family.genai_prices_provider && !m.pricing && !family.defaults.pricing) {
        ctx.addIssue({ code: 'custom', path: ['models', i, 'pricing'], message: 'genai-prices does not cover this family: pricing is required' });
      }
    });
    if (family.genai_prices_provider && family.defaults.pricing) {
      ctx.addIssue({ code: 'custom', path: ['defaults', 'pricing'], message: 'prices of this family come from genai-prices, not from this file' });
    }
  });

export const FamilyFileSchema = z.strictObject({
  $comment: z.union([z.string(), z.array(z.string())]).optional(),
  families: z.record(z.string(), FamilySchema),
});

export type FamilyFile = z.infer<typeof FamilyFileSchema>;
type Family = FamilyFile['families'][string];
type FileModel = Family['models'][number];

export interface BuildCatalogOptions {
  providers: Array<{ name: string; type: ProviderConfig['type']; preset?: string }>;
  overrides?: ModelOverride[];
  /** When prices are read (genai-prices has dated prices). Default: now. */
  at?: Date;
}

/** Defaults for a model that config adds without saying everything about it. */
const NEW_MODEL_DEFAULTS = {
  context_window: 8192,
  max_output_tokens: 4096,
  capabilities: { tools: false, json_schema: false, vision: false, streaming: true },
  quality: 50,
  latency_prior: { ttft_ms: 800, tokens_per_second: 50 },
} as const;

/** Families whose models run on the user's own hardware: a model config adds there costs nothing unless priced. */
const FREE_FAMILIES = new Set(['ollama', 'vllm', 'lmstudio', 'local', 'demo']);

const MINUTES_SAMPLED_PER_DAY = 15;

/**
 * The pinned genai-prices version (package.json pins it exactly; a test checks the two agree).
 * A constant rather than a package.json lookup, so bundles (n8n, Zapier) need no installed package.
 */
export const GENAI_PRICES_VERSION = '0.1.8';

export function genaiPricesSource(): string {
  return `genai-prices@${GENAI_PRICES_VERSION}`;
}

let parsedFile: FamilyFile | undefined;

/** The override file, validated once per process. */
export function overrideFile(): FamilyFile {
  if (!parsedFile) {
    const result = FamilyFileSchema.safeParse(overridesFile);
    if (!result.success) {
      const issue = result.error.issues[0];
      throw new Error(`model-overrides.json: ${issue ? `${formatPath(issue.path)}: ${issue.message}` : 'invalid'}`);
    }
    parsedFile = result.data;
  }
  return parsedFile;
}

/** Which family of models a configured provider serves (`openai-compatible` ones by their preset). */
export function catalogFamily(provider: { name: string; type: ProviderConfig['type']; preset?: string }): string {
  return provider.type === 'openai-compatible' ? (provider.preset ?? provider.name) : provider.type;
}

function perMillion(value: ModelPrice[string]): number | undefined {
  if (typeof value === 'number') return value;
  // Tiered (long-context) prices: the base rate applies below the first tier (see longContextTiers).
  return value?.base;
}

/** genai-prices' field for each of our token prices. */
const PRICE_FIELDS = { input: 'input_mtok', cached_input: 'cache_read_mtok', cache_write_input: 'cache_write_mtok', output: 'output_mtok' } as const;

/**
 * genai-prices' long-context tiers (a price per field, by the prompt's size) as one list of
 * thresholds, each with every field's price from that threshold on.
 */
function longContextTiers(price: ModelPrice): NonNullable<ModelPricing['tiers']> | undefined {
  const tiered = (field: string) => {
    const value = price[field];
    return typeof value === 'object' && value !== null ? [...value.tiers].sort((a, b) => a.start - b.start) : [];
  };
  const starts = [...new Set(Object.values(PRICE_FIELDS).flatMap((f) => tiered(f).map((t) => t.start)))].sort((a, b) => a - b);
  if (starts.length === 0) return undefined;
  return starts.map((start) => {
    const tier: NonNullable<ModelPricing['tiers']>[number] = { above_prompt_tokens: start };
    for (const [ours, field] of Object.entries(PRICE_FIELDS) as Array<[keyof typeof PRICE_FIELDS, string]>) {
      const reached = tiered(field).filter((t) => t.start <= start).at(-1);
      if (reached) tier[ours] = reached.price;
    }
    return tier;
  });
}

function lookupPrice(providerId: string, priceId: string, timestamp: Date): PriceCalculation | null {
  return calcPrice({ input_tokens: 1, output_tokens: 1 }, priceId, { providerId, timestamp });
}

/**
 * Prices a provider charges by time of day (DeepSeek's peak hours) are sampled over the UTC day of `at`
 * and the highest is kept, so expected costs and max_cost_usd never assume an off-peak discount.
 */
function priceOverDay(providerId: string, priceId: string, at: Date): ModelPrice[] {
  const dayStart = Date.UTC(at.getUTCFullYear(), at.getUTCMonth(), at.getUTCDate());
  const step = MINUTES_SAMPLED_PER_DAY * 60_000;
  const prices: ModelPrice[] = [];
  for (let t = dayStart + step / 2; t < dayStart + 86_400_000; t += step) {
    const found = lookupPrice(providerId, priceId, new Date(t));
    if (found) prices.push(found.model_price);
  }
  return prices;
}

function highest(prices: ModelPrice[], field: string): number | undefined {
  let max: number | undefined;
  for (const p of prices) {
    const v = perMillion(p[field]);
    if (v !== undefined && (max === undefined || v > max)) max = v;
  }
  return max;
}

function genaiPricing(providerId: string, priceId: string, at: Date): { pricing: ModelPricing; contextWindow?: number } {
  const found = lookupPrice(providerId, priceId, at);
  if (!found) throw new Error(`model-overrides.json: genai-prices has no model '${priceId}' for provider '${providerId}'`);
  const byTime = Array.isArray(found.model.prices) && found.model.prices.some((p) => p.constraint?.type === 'time_of_date');
  const prices = byTime ? priceOverDay(providerId, priceId, at) : [found.model_price];
  const input = highest(prices, 'input_mtok');
  const output = highest(prices, 'output_mtok');
  if (input === undefined || output === undefined) {
    throw new Error(`model-overrides.json: genai-prices has no text token price for '${providerId}/${priceId}'`);
  }
  const pricing: ModelPricing = { input, output };
  const cached = highest(prices, 'cache_read_mtok');
  if (cached !== undefined) pricing.cached_input = cached;
  const cacheWrite = highest(prices, 'cache_write_mtok');
  if (cacheWrite !== undefined) pricing.cache_write_input = cacheWrite;
  const tiers = prices.length === 1 ? longContextTiers(prices[0]!) : undefined;
  if (tiers) pricing.tiers = tiers;
  return { pricing, contextWindow: found.model.context_window };
}

function required<T>(value: T | undefined, what: string, family: string, model: string): T {
  if (value === undefined) throw new Error(`model-overrides.json: families.${family} model '${model}' needs ${what}`);
  return value;
}

function fileModel(familyName: string, family: Family, m: FileModel, at: Date): CatalogModel {
  const d = family.defaults;
  let pricing = m.pricing ?? d.pricing;
  let contextWindow = m.context_window ?? d.context_window;
  let priceSource = 'override';
  if (family.genai_prices_provider) {
    const found = genaiPricing(family.genai_prices_provider, m.price_id ?? m.model, at);
    pricing = found.pricing;
    contextWindow = found.contextWindow ?? contextWindow;
    priceSource = genaiPricesSource();
  }
  return {
    key: `${familyName}/${m.model}`,
    provider: familyName,
    model: m.model,
    aliases: m.aliases ?? [],
    pricing: required(pricing, 'pricing', familyName, m.model),
    context_window: required(contextWindow, 'a context_window (genai-prices has none)', familyName, m.model),
    max_output_tokens: required(m.max_output_tokens ?? d.max_output_tokens, 'max_output_tokens', familyName, m.model),
    capabilities: required(m.capabilities ?? d.capabilities, 'capabilities', familyName, m.model),
    quality: m.quality,
    latency_prior: required(m.latency_prior ?? d.latency_prior, 'a latency_prior', familyName, m.model),
    price_source: priceSource,
  };
}

/** Base models are shared by every catalog built the same day: nobody may change them in place. */
function freezeModel(model: CatalogModel): CatalogModel {
  for (const part of [model.aliases, model.pricing, model.capabilities, model.latency_prior]) Object.freeze(part);
  return Object.freeze(model);
}

/** Base models per family, priced for one UTC day; built lazily per family and kept for the process. */
let baseCache: { day: string; families: Map<string, readonly CatalogModel[]> } | undefined;

function familyModels(familyName: string, at: Date): readonly CatalogModel[] {
  const day = at.toISOString().slice(0, 10);
  if (baseCache?.day !== day) baseCache = { day, families: new Map() };
  let models = baseCache.families.get(familyName);
  if (!models) {
    const family = overrideFile().families[familyName];
    models = family ? family.models.map((m) => freezeModel(fileModel(familyName, family, m, at))) : [];
    baseCache.families.set(familyName, models);
  }
  return models;
}

function rekey(model: CatalogModel, provider: string): CatalogModel {
  if (model.provider === provider) return model;
  // The family-qualified key stays resolvable as an alias ("openai/gpt-4o" -> "my-openai/gpt-4o").
  return { ...model, key: `${provider}/${model.model}`, provider, aliases: [...model.aliases, model.key] };
}

function configError(index: number, key: string, error: z.ZodError): Error {
  const issue = error.issues[0];
  const where = issue ? `.${formatPath(issue.path)}` : '';
  return new Error(`models[${index}] '${key}'${where}: ${issue?.message ?? 'invalid'}`);
}

function definedFields(override: ModelOverride): Partial<CatalogModel> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(override)) if (v !== undefined) out[k] = v;
  return out as Partial<CatalogModel>;
}

function applyOverride(existing: CatalogModel | undefined, override: ModelOverride, family: string): unknown {
  const fields = definedFields(override);
  if (existing) {
    return {
      ...existing,
      ...fields,
      // Config adds aliases rather than replacing them (zod fills an absent list with []).
      aliases: [...new Set([...existing.aliases, ...(override.aliases ?? [])])],
      price_source: override.pricing ? (override.price_source ?? 'config') : existing.price_source,
    };
  }
  const slash = override.key.indexOf('/');
  const free = FREE_FAMILIES.has(family);
  return {
    ...NEW_MODEL_DEFAULTS,
    provider: override.key.slice(0, slash),
    model: override.key.slice(slash + 1),
    pricing: free ? { input: 0, output: 0 } : undefined,
    ...fields,
    price_source: override.pricing ? (override.price_source ?? 'config') : free ? 'free (local)' : undefined,
  };
}

function applyOverrides(models: CatalogModel[], overrides: ModelOverride[], families: Map<string, string>): void {
  const index = new Map(models.map((m, i) => [m.key, i]));
  overrides.forEach((override, i) => {
    const slash = override.key.indexOf('/');
    if (slash <= 0 || slash === override.key.length - 1) {
      throw new Error(`models[${i}].key: '${override.key}' must look like provider/model`);
    }
    const family = families.get(override.key.slice(0, slash));
    if (family === undefined) return; // its provider is not configured (or is disabled)
    const at = index.get(override.key);
    const existing = at === undefined ? undefined : models[at];
    const candidate = applyOverride(existing, override, family);
    const result = CatalogModelSchema.safeParse(candidate);
    if (!result.success) {
      const aboutPricing = !existing && result.error.issues[0]?.path[0] === 'pricing';
      const hint = aboutPricing ? ' (a model config adds needs pricing: { input, output } in USD per 1M tokens)' : '';
      const err = configError(i, override.key, result.error);
      throw new Error(err.message + hint);
    }
    if (at === undefined) {
      index.set(result.data.key, models.length);
      models.push(result.data);
    } else {
      models[at] = result.data;
    }
  });
}

/** Lookup structures over a fixed list of models. */
export function createCatalog(models: readonly CatalogModel[]): Catalog {
  const byKey = new Map<string, CatalogModel>();
  const byName = new Map<string, CatalogModel[]>();
  const addName = (name: string, m: CatalogModel) => {
    for (const n of new Set([name, name.toLowerCase()])) {
      const list = byName.get(n);
      if (!list) byName.set(n, [m]);
      else if (!list.includes(m)) list.push(m);
    }
  };
  for (const m of models) byKey.set(m.key, m);
  for (const m of models) {
    addName(m.model, m);
    for (const a of m.aliases) addName(a, m);
  }
  const frozen = Object.freeze([...models]);
  return {
    models: frozen,
    get: (key) => byKey.get(key),
    resolve(name) {
      const exact = byKey.get(name);
      if (exact) return [exact];
      return [...(byName.get(name) ?? byName.get(name.toLowerCase()) ?? [])];
    },
  };
}

/**
 * The catalog for the configured providers: each provider gets its family's models keyed under its own
 * name ("my-openai/gpt-4.1-mini"); config overrides then add models or change any field by key.
 */
export function buildCatalog(options: BuildCatalogOptions): Catalog {
  const at = options.at ?? new Date();
  const families = new Map<string, string>();
  const models: CatalogModel[] = [];
  for (const provider of options.providers) {
    const family = catalogFamily(provider);
    families.set(provider.name, family);
    for (const base of familyModels(family, at)) models.push(rekey(base, provider.name));
  }
  applyOverrides(models, options.overrides ?? [], families);
  return createCatalog(models);
}
