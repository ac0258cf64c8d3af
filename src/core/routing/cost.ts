import type { Usage } from '../schema';
import type { ModelPricing } from './types';

const PER_TOKEN = 1 / 1_000_000;

/** Rounds to a billionth of a dollar: enough for single-token prices, free of float noise. */
export function roundUsd(usd: number): number {
  return Math.round(usd * 1e9) / 1e9;
}

/** The prices a call with `promptTokens` pays: the base ones, or those of the highest tier it passes. */
export function pricesFor(pricing: ModelPricing, promptTokens: number): ModelPricing {
  let prices = pricing;
  for (const { above_prompt_tokens, ...tier } of pricing.tiers ?? []) {
    if (promptTokens > above_prompt_tokens) prices = { ...prices, ...tier };
  }
  return prices;
}

/**
 * USD for token counts at per-1M-token prices, unrounded (plans compare expected costs with it).
 * `cachedInput` (read from a prompt cache) and `cacheWriteInput` (written to one) tokens are part of
 * `input`, billed at `cached_input` and `cache_write_input` (the input price when unknown).
 */
export function priceTokens(tiered: ModelPricing, input: number, output: number, cachedInput = 0, cacheWriteInput = 0): number {
  const pricing = pricesFor(tiered, input);
  const cached = Math.min(cachedInput, input);
  const written = Math.min(cacheWriteInput, input - cached);
  const plain = input - cached - written;
  const inputUsd = plain * pricing.input + cached * (pricing.cached_input ?? pricing.input) + written * (pricing.cache_write_input ?? pricing.input);
  return (inputUsd + output * pricing.output) * PER_TOKEN;
}

/** Cost in USD of one call, from the usage the provider reported. */
export function costUsd(pricing: ModelPricing, usage: Usage | undefined): number {
  if (!usage) return 0;
  const details = usage.prompt_tokens_details;
  return roundUsd(priceTokens(pricing, usage.prompt_tokens, usage.completion_tokens, details?.cached_tokens ?? 0, details?.cache_write_tokens ?? 0));
}
