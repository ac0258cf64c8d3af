import type { Random } from '../clock';
import type { RoutingConfig } from '../config';

/**
 * Wait before retry number `retry` (0 = first retry) on the same model: exponential with
 * "equal jitter" (half fixed, half random) so that many callers do not retry in lockstep,
 * and never shorter than what the upstream asked for with Retry-After.
 */
export function backoffDelay(
  retry: number,
  config: Pick<RoutingConfig, 'backoff_base_ms' | 'backoff_max_ms'>,
  random: Random,
  retryAfterMs?: number,
): number {
  const exponential = Math.min(config.backoff_max_ms, config.backoff_base_ms * 2 ** retry);
  const jittered = exponential / 2 + random() * (exponential / 2);
  return Math.round(Math.max(jittered, retryAfterMs ?? 0));
}
