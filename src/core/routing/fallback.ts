import type { Random } from '../clock';
import type { RoutingConfig } from '../config';
import type { ProviderError } from '../errors';
import { backoffDelay } from './backoff';
import type { CatalogModel } from './types';

/** Candidates an error rules out for the rest of the call, and why. */
export interface Exclusion {
  reason: string;
  excludes(model: CatalogModel): boolean;
}

export type Decision =
  | { action: 'retry'; delayMs: number }
  | { action: 'next'; exclusion?: Exclusion }
  | { action: 'stop' };

export interface FailureContext {
  model: CatalogModel;
  /** Retries already made on this model. */
  retries: number;
  /** Time left before the call's deadline. */
  timeLeftMs: number;
}

/**
 * What to do after a failed attempt. Retryable errors are retried on the same model (with
 * jittered backoff honouring Retry-After) and then fall back; a request the upstream rejected
 * falls back only where another model could plausibly accept it.
 */
export function decide(err: ProviderError, f: FailureContext, config: RoutingConfig, random: Random): Decision {
  switch (err.kind) {
    case 'bad_request':
      // A 404 is about the upstream (a model it does not serve, a wrong path), not the request: the next model may answer.
      if (err.status === 404) return { action: 'next', exclusion: { reason: `${f.model.provider} answered 404 for ${f.model.key}`, excludes: (m) => m.key === f.model.key } };
      return { action: 'stop' };
    case 'auth':
      return {
        action: 'next',
        exclusion: { reason: `${f.model.provider} rejected its API key`, excludes: (m) => m.provider === f.model.provider },
      };
    case 'context_length_exceeded':
      return {
        action: 'next',
        exclusion: {
          reason: `context window not larger than ${f.model.key}'s ${f.model.context_window} tokens`,
          excludes: (m) => m.context_window <= f.model.context_window,
        },
      };
    case 'content_filter':
      if (!config.content_filter_fallback) return { action: 'stop' };
      return {
        action: 'next',
        exclusion: { reason: `${f.model.provider} refused the content`, excludes: (m) => m.provider === f.model.provider },
      };
    default:
      return retryOrNext(err, f, config, random);
  }
}

function retryOrNext(err: ProviderError, f: FailureContext, config: RoutingConfig, random: Random): Decision {
  if (!err.retryable || f.retries >= config.retries_per_model) return { action: 'next' };
  const delayMs = backoffDelay(f.retries, config, random, err.retryAfterMs);
  // An upstream asking for a longer pause than we would ever back off is better left to the next candidate.
  if (delayMs > config.backoff_max_ms || delayMs >= f.timeLeftMs) return { action: 'next' };
  return { action: 'retry', delayMs };
}
