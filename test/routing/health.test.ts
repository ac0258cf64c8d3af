import { VirtualClock } from '../../src/core/clock';
import { RoutingConfigSchema } from '../../src/core/config';
import { HealthTracker, type CircuitTransition } from '../../src/core/routing/health';

const circuit = RoutingConfigSchema.parse({ circuit: { consecutive_failures: 3, failure_rate: 0.5, min_requests: 6, window_ms: 10_000, cooldown_ms: 5_000 } }).circuit;
const fail = { ok: false as const, kind: 'overloaded' as const };
const KEY = 'a/m';

function setup() {
  const clock = new VirtualClock();
  const transitions: CircuitTransition[] = [];
  const health = new HealthTracker(circuit, clock, (t) => transitions.push(t));
  return { clock, health, transitions };
}

describe('circuit breaker', () => {
  it('opens after N consecutive retryable failures, half-opens after the cooldown, closes on a good probe', async () => {
    const { clock, health, transitions } = setup();
    health.record(KEY, fail);
    health.record(KEY, fail);
    expect(health.isOpen(KEY)).toBe(false);
    health.record(KEY, fail);
    expect(health.isOpen(KEY)).toBe(true);
    expect(health.admit(KEY)).toBe(false);

    await clock.advance(4_999);
    expect(health.isOpen(KEY)).toBe(true);
    await clock.advance(1);
    expect(health.isOpen(KEY)).toBe(false);
    expect(health.state(KEY)).toBe('half_open');
    expect(health.admit(KEY)).toBe(true); // the one probe
    expect(health.admit(KEY)).toBe(false); // nobody else while it runs
    expect(health.isOpen(KEY)).toBe(true); // plans skip it meanwhile

    health.record(KEY, { ok: true, totalMs: 100 });
    expect(health.state(KEY)).toBe('closed');
    expect(health.admit(KEY)).toBe(true);
    expect(transitions.map((t) => t.to)).toEqual(['open', 'half_open', 'closed']);
  });

  it('re-opens when the probe fails', async () => {
    const { clock, health } = setup();
    for (let i = 0; i < 3; i++) health.record(KEY, fail);
    await clock.advance(5_000);
    expect(health.admit(KEY)).toBe(true);
    health.record(KEY, fail);
    expect(health.state(KEY)).toBe('open');
    expect(health.reopensIn(KEY)).toBe(5_000);
  });

  it('honours Retry-After when it is longer than the cooldown', async () => {
    const { clock, health } = setup();
    health.record(KEY, fail);
    health.record(KEY, fail);
    health.record(KEY, { ...fail, kind: 'rate_limited', retryAfterMs: 20_000 });
    await clock.advance(19_000);
    expect(health.isOpen(KEY)).toBe(true);
    await clock.advance(1_000);
    expect(health.isOpen(KEY)).toBe(false);
  });

  it('caps a Retry-After cooldown at max_cooldown_ms: a far-off date does not remove a model for good', async () => {
    const { clock, health } = setup();
    for (let i = 0; i < 3; i++) health.record(KEY, { ...fail, kind: 'rate_limited', retryAfterMs: 11 * 365 * 86_400_000 });
    expect(health.reopensIn(KEY)).toBe(circuit.max_cooldown_ms);
    await clock.advance(circuit.max_cooldown_ms);
    expect(health.isOpen(KEY)).toBe(false);
    expect(health.state(KEY)).toBe('half_open');
  });

  it('keeps the output size of the measured calls, so plans can scale their time', () => {
    const { health } = setup();
    health.record(KEY, { ok: true, ttftMs: 100, totalMs: 1000, outputTokens: 100 });
    health.record(KEY, { ok: true, ttftMs: 100, totalMs: 2000, outputTokens: 200 });
    expect(health.latency(KEY)?.outputTokens).toBeCloseTo(130, 6);
  });

  it('learns no total latency from a first token alone (a stream its caller left early)', () => {
    const { health } = setup();
    health.record(KEY, { ok: true, ttftMs: 40 });
    expect(health.latency(KEY)).toBeUndefined();
    health.record(KEY, { ok: true, ttftMs: 50, totalMs: 900 });
    expect(health.latency(KEY)?.totalMs).toBe(900);
  });

  it('opens on the failure rate over the window once enough requests were seen', () => {
    const { health } = setup();
    // alternate so that consecutive failures never reach 3
    for (const ok of [true, false, true, false, false]) health.record(KEY, ok ? { ok: true } : fail);
    expect(health.state(KEY)).toBe('closed'); // 5 requests < min_requests
    health.record(KEY, { ok: true });
    health.record(KEY, fail);
    expect(health.errorRate(KEY)).toBeCloseTo(4 / 7);
    expect(health.state(KEY)).toBe('open');
  });

  it('forgets failures that slid out of the window', async () => {
    const { clock, health } = setup();
    health.record(KEY, fail);
    health.record(KEY, { ok: true });
    expect(health.errorRate(KEY)).toBe(0.5);
    await clock.advance(11_001);
    expect(health.errorRate(KEY)).toBe(0);
  });

  it('does not count rejected requests against the model, and a rejected probe still closes it', async () => {
    const { clock, health } = setup();
    for (let i = 0; i < 5; i++) health.record(KEY, { ok: false, kind: 'bad_request' });
    expect(health.state(KEY)).toBe('closed');
    expect(health.errorRate(KEY)).toBe(0);
    for (let i = 0; i < 3; i++) health.record(KEY, fail);
    await clock.advance(5_000);
    health.admit(KEY);
    health.record(KEY, { ok: false, kind: 'context_length_exceeded' });
    expect(health.state(KEY)).toBe('closed');
  });

  it('lets a new probe in when the previous one ended without a verdict', async () => {
    const { clock, health } = setup();
    for (let i = 0; i < 3; i++) health.record(KEY, fail);
    await clock.advance(5_000);
    expect(health.admit(KEY)).toBe(true);
    health.release(KEY);
    expect(health.admit(KEY)).toBe(true);
  });
});

describe('latency EWMA', () => {
  it('averages ttft and total latency, weighting recent samples', () => {
    const { health } = setup();
    expect(health.latency(KEY)).toBeUndefined();
    health.record(KEY, { ok: true, ttftMs: 100, totalMs: 1_000 });
    expect(health.latency(KEY)).toEqual({ ttftMs: 100, totalMs: 1_000 });
    health.record(KEY, { ok: true, ttftMs: 200, totalMs: 2_000 });
    expect(health.latency(KEY)).toEqual({ ttftMs: 130, totalMs: 1_300 });
  });

  it('uses the total as ttft when only non-streaming calls were measured', () => {
    const { health } = setup();
    health.record(KEY, { ok: true, totalMs: 800 });
    expect(health.latency(KEY)).toEqual({ ttftMs: 800, totalMs: 800 });
  });

  it('forgets measurements older than the window, and restarts from fresh ones', async () => {
    const { clock, health } = setup();
    health.record(KEY, { ok: true, totalMs: 5_000 });
    await clock.advance(10_001);
    expect(health.latency(KEY)).toBeUndefined();
    health.record(KEY, { ok: true, totalMs: 100 });
    expect(health.latency(KEY)?.totalMs).toBe(100);
  });

  it('reports a snapshot per model', () => {
    const { health } = setup();
    health.record(KEY, { ok: true, totalMs: 50 });
    health.record('b/m', fail);
    expect(health.snapshot()).toEqual([
      expect.objectContaining({ key: KEY, state: 'closed', totalMs: 50, errorRate: 0, requests: 1 }),
      expect.objectContaining({ key: 'b/m', state: 'closed', errorRate: 1, consecutiveFailures: 1 }),
    ]);
  });
});
