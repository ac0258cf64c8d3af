import { seededRandom } from '../../src/core/clock';
import { RoutingConfigSchema } from '../../src/core/config';
import { ProviderError, type ErrorKind } from '../../src/core/errors';
import { backoffDelay } from '../../src/core/routing/backoff';
import { decide } from '../../src/core/routing/fallback';
import { model } from './helpers/fakes';

const config = RoutingConfigSchema.parse({ retries_per_model: 2, backoff_base_ms: 200, backoff_max_ms: 4_000 });
const small = model('a/small', { context_window: 8_000 });
const err = (kind: ErrorKind, extra: Partial<ConstructorParameters<typeof ProviderError>[0]> = {}) =>
  new ProviderError({ kind, message: kind, provider: 'a', ...extra });
const ctx = { model: small, retries: 0, timeLeftMs: 60_000 };

describe('backoffDelay', () => {
  it('grows exponentially with equal jitter and stays under the cap', () => {
    const random = seededRandom(7);
    for (let retry = 0; retry < 8; retry++) {
      const exp = Math.min(4_000, 200 * 2 ** retry);
      const d = backoffDelay(retry, config, random);
      expect(d).toBeGreaterThanOrEqual(exp / 2);
      expect(d).toBeLessThanOrEqual(exp);
    }
  });

  it('is never shorter than Retry-After', () => {
    expect(backoffDelay(0, config, () => 0.99, 3_000)).toBe(3_000);
    expect(backoffDelay(0, config, () => 0, 10)).toBe(100);
  });

  it('is deterministic for a seeded random source', () => {
    const a = [0, 1, 2].map((r) => backoffDelay(r, config, seededRandom(1)));
    const b = [0, 1, 2].map((r) => backoffDelay(r, config, seededRandom(1)));
    expect(a).toEqual(b);
  });
});

describe('decide', () => {
  const random = () => 0.5;

  it.each<ErrorKind>(['rate_limited', 'overloaded', 'timeout', 'upstream_error'])('retries %s on the same model, then falls back', (kind) => {
    expect(decide(err(kind), ctx, config, random)).toEqual({ action: 'retry', delayMs: 150 });
    expect(decide(err(kind), { ...ctx, retries: 1 }, config, random)).toEqual({ action: 'retry', delayMs: 300 });
    expect(decide(err(kind), { ...ctx, retries: 2 }, config, random)).toEqual({ action: 'next' });
  });

  it('waits for Retry-After, but goes elsewhere when it is longer than the backoff cap or the time left', () => {
    expect(decide(err('rate_limited', { retryAfterMs: 2_000 }), ctx, config, random)).toEqual({ action: 'retry', delayMs: 2_000 });
    expect(decide(err('rate_limited', { retryAfterMs: 30_000 }), ctx, config, random)).toEqual({ action: 'next' });
    expect(decide(err('rate_limited', { retryAfterMs: 2_000 }), { ...ctx, timeLeftMs: 1_500 }, config, random)).toEqual({ action: 'next' });
  });

  it('does not retry a retryable kind the upstream marked final (exhausted quota)', () => {
    expect(decide(err('rate_limited', { retryable: false }), ctx, config, random)).toEqual({ action: 'next' });
  });

  it('returns a bad request at once', () => {
    expect(decide(err('bad_request'), ctx, config, random)).toEqual({ action: 'stop' });
  });

  it('falls back after an auth error only to other providers', () => {
    const d = decide(err('auth'), ctx, config, random);
    expect(d.action).toBe('next');
    const ex = d.action === 'next' ? d.exclusion : undefined;
    expect(ex?.excludes(model('a/other'))).toBe(true);
    expect(ex?.excludes(model('b/same'))).toBe(false);
  });

  it('falls back after a context-length error only to larger context windows', () => {
    const d = decide(err('context_length_exceeded'), ctx, config, random);
    const ex = d.action === 'next' ? d.exclusion : undefined;
    expect(ex?.excludes(model('b/same', { context_window: 8_000 }))).toBe(true);
    expect(ex?.excludes(model('b/large', { context_window: 128_000 }))).toBe(false);
  });

  it('falls back after a content filter only when configured, and then to other providers', () => {
    expect(decide(err('content_filter'), ctx, config, random)).toEqual({ action: 'stop' });
    const d = decide(err('content_filter'), ctx, { ...config, content_filter_fallback: true }, random);
    const ex = d.action === 'next' ? d.exclusion : undefined;
    expect(ex?.excludes(model('a/x'))).toBe(true);
    expect(ex?.excludes(model('b/x'))).toBe(false);
  });
});
