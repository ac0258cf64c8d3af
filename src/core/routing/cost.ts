import type { Usage } from '../schema';
import type { ModelPricing } from './types';

const PER_TOKEN = 1 / 1_000_000;

/** Rounds to a billionth of a dollar: enough for single-token prices, free of float noise. */
export function roundUsd(usd: number): number {
  return Math.round(usd * 1e9) / 1e9;
}

/**
 * Cost in USD of one call from the usage the provider reported and per-1M-token prices.
 * Cached prompt tokens are billed at `cached_input` (or the full input price when unknown).
 */
export function costUsd(pricing: ModelPricing, usage: Usage | undefined): number {
  if (!usage) return 0;
  const cached = Math.min(usage.prompt_tokens_details?.cached_tokens ?? 0, usage.prompt_tokens);
  const uncached = usage.prompt_tokens - cached;
  const input = uncached * pricing.input + cached * (pricing.cached_input ?? pricing.input);
  const output = usage.completion_tokens * pricing.output;
  return roundUsd((input + output) * PER_TOKEN);
}
