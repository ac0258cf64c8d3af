import type { CircuitTransition } from '../../src/core/routing/health';
import { collect } from '../helpers/fixtures';
import { hello, model } from './helpers/fakes';
import { simulate } from './helpers/setup';

// Same price and quality; a's prior is faster (100 + 512/1024 s = 600 ms) than b's (300 + 512/512 s = 1300 ms).
const models = [
  model('a/m', { latency_prior: { ttft_ms: 100, tokens_per_second: 1024 } }),
  model('b/m', { latency_prior: { ttft_ms: 300, tokens_per_second: 512 } }),
];
const auto = { model: 'auto:latency', ...hello };

describe('latency-aware routing', () => {
  it("shifts traffic to B within a few requests when A slows down, and back once A has recovered", async () => {
    const { sy, a, b, run } = simulate({ models });
    let aLatency = 100;
    a.always(() => ({ kind: 'ok', latencyMs: aLatency }));
    b.always({ kind: 'ok', latencyMs: 1_000 });
    const route = async () => (await run(sy.chat(auto))).story.model;

    for (let i = 0; i < 5; i++) expect(await route()).toBe('a/m');

    aLatency = 5_000;
    const slowPhase: string[] = [];
    for (let i = 0; i < 10; i++) slowPhase.push(await route());
    const shiftedAfter = slowPhase.indexOf('b/m');
    expect(shiftedAfter).toBeGreaterThan(0);
    expect(shiftedAfter).toBeLessThanOrEqual(3); // N = 3
    expect(slowPhase.slice(shiftedAfter)).toEqual(Array(10 - shiftedAfter).fill('b/m'));

    // A recovers. Its slow measurements age out of the window (60 s of B traffic at 1 s each) and the
    // next request probes it again.
    aLatency = 100;
    const recovery: string[] = [];
    for (let i = 0; i < 80; i++) recovery.push(await route());
    const back = recovery.indexOf('a/m');
    expect(back).toBeGreaterThan(40);
    expect(back).toBeLessThan(70);
    expect(recovery.slice(back)).toEqual(Array(80 - back).fill('a/m'));
  });

  it('a model still slow when re-probed gets a single request, then traffic returns to B', async () => {
    const { sy, a, b, clock, run } = simulate({ models });
    a.always({ kind: 'ok', latencyMs: 5_000 });
    b.always({ kind: 'ok', latencyMs: 1_000 });
    const route = async () => (await run(sy.chat(auto))).story.model;
    expect(await route()).toBe('a/m'); // prior says A is faster
    expect(await route()).toBe('b/m');
    await clock.advance(61_000);
    expect([await route(), await route(), await route()]).toEqual(['a/m', 'b/m', 'b/m']);
  });
});

describe('live latency and output size', () => {
  it('answers and streams teach the plan how long their output took, so a longer request is expected to take longer', async () => {
    const { sy, a, run } = simulate({ models });
    a.always({ kind: 'ok', latencyMs: 400 });
    await run(sy.chat({ ...hello, model: 'a/m' }));
    await run(collect((await run(sy.stream({ ...hello, model: 'a/m' }))).chunks));
    const expected = (maxTokens: number) => sy.plan({ ...hello, model: 'a/m', max_tokens: maxTokens }).candidates[0]!.expectedLatencyMs;
    expect(expected(4_000)).toBeGreaterThan(2 * expected(20));
  });
});

describe('circuit breaker in routing', () => {
  const config = { routing: { retries_per_model: 0, circuit: { consecutive_failures: 2, cooldown_ms: 10_000 } } };
  const failing = { kind: 'error' as const, error: { kind: 'overloaded' as const, status: 503, message: 'down' } };

  it('opens after consecutive failures (A leaves the plan at zero cost), half-opens after the cooldown, closes on success', async () => {
    const { sy, a, clock, run, req } = simulate({ config });
    const transitions: CircuitTransition[] = [];
    sy.on('circuit', (t) => transitions.push(t));
    a.always(failing);

    for (let i = 0; i < 2; i++) {
      const { story } = await run(sy.chat(req()));
      expect(story.attempts.map((x) => `${x.key} ${x.outcome}`)).toEqual(['a/m overloaded', 'b/m ok']);
    }
    expect(transitions.map((t) => `${t.key} ${t.to}`)).toEqual(['a/m open']);

    const { story } = await run(sy.chat(req()));
    expect(story.attempts.map((x) => x.key)).toEqual(['b/m']);
    expect(story.plan.excluded).toEqual([expect.objectContaining({ key: 'a/m', reason: expect.stringMatching(/circuit is open/) })]);
    expect(a.calls).toHaveLength(2);
    expect(sy.health().find((h) => h.key === 'a/m')).toMatchObject({ state: 'open', consecutiveFailures: 2 });

    await clock.advance(10_000);
    a.always({ kind: 'ok' });
    const probe = await run(sy.chat(req()));
    expect(probe.story.model).toBe('a/m');
    expect(transitions.map((t) => t.to)).toEqual(['open', 'half_open', 'closed']);
    expect(sy.health().find((h) => h.key === 'a/m')?.state).toBe('closed');
  });

  it('a failure that opens the circuit moves on at once: no backoff wait, no extra "not tried" attempt', async () => {
    const retrying = { routing: { retries_per_model: 2, backoff_base_ms: 1_000, circuit: { consecutive_failures: 1, cooldown_ms: 10_000 } } };
    const { sy, a, b, clock, run, req } = simulate({ config: retrying });
    a.always(failing);
    const t0 = clock.now();
    const { story } = await run(sy.chat(req()));
    expect(story.attempts.map((x) => `${x.key} ${x.outcome}`)).toEqual(['a/m overloaded', 'b/m ok']);
    expect(clock.now() - t0).toBeLessThan(1_000);
    expect([a.calls.length, b.calls.length]).toEqual([1, 1]);
  });

  it('a failed probe re-opens the circuit for another cooldown', async () => {
    const { sy, a, clock, run, req } = simulate({ config });
    a.always(failing);
    await run(sy.chat(req()));
    await run(sy.chat(req()));
    await clock.advance(10_000);
    const probe = await run(sy.chat(req()));
    expect(probe.story.attempts.map((x) => `${x.key} ${x.outcome}`)).toEqual(['a/m overloaded', 'b/m ok']);
    expect(sy.plan(req()).excluded.map((x) => x.key)).toEqual(['a/m']);
    await clock.advance(9_999);
    expect(sy.plan(req()).excluded.map((x) => x.key)).toEqual(['a/m']);
    await clock.advance(1);
    expect(sy.plan(req()).candidates.map((x) => x.key)).toEqual(['a/m', 'b/m']);
  });

  it('only one probe goes to a half-open model at a time', async () => {
    const { sy, a, b, clock, run, req } = simulate({ config });
    a.always(failing);
    await run(sy.chat(req()));
    await run(sy.chat(req()));
    await clock.advance(10_000);
    a.always({ kind: 'ok', latencyMs: 1_000 });
    b.always({ kind: 'ok', latencyMs: 1_000 });
    const [first, second] = await run(Promise.all([sy.chat(req()), sy.chat(req())]));
    expect(first.story.model).toBe('a/m');
    expect(second.story.model).toBe('b/m');
  });

  it('with every candidate open, answers 503 with Retry-After', async () => {
    const { sy, a, b, run, req } = simulate({ config });
    a.always(failing);
    b.always(failing);
    for (let i = 0; i < 2; i++) await run(sy.chat(req())).catch(() => undefined);
    await expect(run(sy.chat(req()))).rejects.toMatchObject({ status: 503, code: 'models_unavailable', headers: { 'retry-after': '10' } });
  });
});
