import { VirtualClock } from '../../src/core/clock';
import { ProviderLimiter } from '../../src/core/routing/limits';
import type { CallOptions, RoutedChatRequest } from '../../src/core/routing/types';
import { deferred } from './helpers/fakes';
import { simulate, until, type Sim } from './helpers/setup';

// Bottleneck keeps its state on real timers (a few setTimeout(0) per job), so these tests await
// calls directly instead of running them on virtual time; nothing here waits for a clock.

describe('ProviderLimiter', () => {
  const clock = new VirtualClock();
  const limiters: ProviderLimiter[] = [];
  const make = (limits: ConstructorParameters<typeof ProviderLimiter>[1]) => {
    const l = new ProviderLimiter('p', limits, 'sk-test', clock);
    limiters.push(l);
    return l;
  };
  afterAll(() => Promise.all(limiters.map((l) => l.close())));

  it('admits calls under max_concurrent and reports a full house with its expected wait', async () => {
    const l = make({ max_concurrent: 2 });
    const one = await l.acquire({ tokens: 10, budgetMs: 10_000, expectedCallMs: 500 });
    const two = await l.acquire({ tokens: 10, budgetMs: 10_000, expectedCallMs: 500 });
    expect(one.ok && two.ok).toBe(true);
    const three = await l.acquire({ tokens: 10, budgetMs: 800, expectedCallMs: 500 });
    expect(three).toEqual({ ok: false, waitMs: 500, reason: 'max_concurrent 2 reached (2 running, 0 queued)' });
    if (one.ok) one.permit.release();
    const four = await l.acquire({ tokens: 10, budgetMs: 800, expectedCallMs: 500 });
    expect(four.ok).toBe(true);
    for (const d of [two, four]) if (d.ok) d.permit.release();
  });

  it('queues when the expected wait fits the budget, and the slot passes on release', async () => {
    const l = make({ max_concurrent: 1 });
    const first = await l.acquire({ tokens: 1, budgetMs: 60_000, expectedCallMs: 100 });
    let second: Awaited<ReturnType<ProviderLimiter['acquire']>> | undefined;
    const pending = l.acquire({ tokens: 1, budgetMs: 60_000, expectedCallMs: 100 }).then((d) => (second = d));
    await new Promise((r) => setTimeout(r, 20));
    expect(second).toBeUndefined();
    if (first.ok) first.permit.release();
    await pending;
    expect(second?.ok).toBe(true);
    if (second?.ok) second.permit.release();
  });

  it('refuses when requests_per_minute is used up and the refresh is further away than the budget', async () => {
    const l = make({ requests_per_minute: 2 });
    for (let i = 0; i < 2; i++) {
      const d = await l.acquire({ tokens: 1, budgetMs: 5_000, expectedCallMs: 100 });
      expect(d.ok).toBe(true);
      if (d.ok) d.permit.release();
    }
    const third = await l.acquire({ tokens: 1, budgetMs: 5_000, expectedCallMs: 100 });
    expect(third.ok).toBe(false);
    if (!third.ok) {
      expect(third.reason).toBe('requests_per_minute 2 used up');
      expect(third.waitMs).toBeGreaterThan(5_000);
      expect(third.waitMs).toBeLessThanOrEqual(60_000);
    }
  });

  it('charges estimated tokens to tokens_per_minute', async () => {
    const l = make({ tokens_per_minute: 1_000 });
    const first = await l.acquire({ tokens: 700, budgetMs: 5_000, expectedCallMs: 100 });
    expect(first.ok).toBe(true);
    const second = await l.acquire({ tokens: 700, budgetMs: 5_000, expectedCallMs: 100 });
    expect(second).toMatchObject({ ok: false, reason: 'tokens_per_minute 1000 used up (this call needs ~700, 300 left)' });
    const small = await l.acquire({ tokens: 200, budgetMs: 5_000, expectedCallMs: 100 });
    expect(small.ok).toBe(true);
  });

  it('gives up a queued slot when the caller aborts', async () => {
    const l = make({ max_concurrent: 1 });
    const first = await l.acquire({ tokens: 1, budgetMs: 60_000, expectedCallMs: 100 });
    const ac = new AbortController();
    const queued = l.acquire({ tokens: 1, budgetMs: 60_000, expectedCallMs: 100, signal: ac.signal });
    await new Promise((r) => setTimeout(r, 10));
    ac.abort();
    await expect(queued).resolves.toMatchObject({ ok: false, reason: expect.stringMatching(/caller aborted while queued/) });
    if (first.ok) first.permit.release();
    const next = await l.acquire({ tokens: 1, budgetMs: 60_000, expectedCallMs: 100 });
    expect(next.ok).toBe(true);
  });
});

describe('limits in routing', () => {
  let sim: Sim | undefined;
  afterEach(async () => {
    await sim?.sy.close();
    sim = undefined;
  });

  // a/m is expected to take ~5.4 s (its prior): waiting for the slot and then calling it fits neither budget.
  it.each<[string, RoutedChatRequest['routing'], CallOptions]>([
    ['a short deadline', undefined, { deadlineMs: 1_000 }],
    ["the request's max_latency_ms, well inside the deadline", { max_latency_ms: 6_000 }, {}],
  ])('a provider at max_concurrent sends the call to the next candidate when the wait exceeds %s', async (_budget, routing, options) => {
    sim = simulate({ limits: { a: { max_concurrent: 1 } } });
    const { sy, a, req } = sim;
    const release = deferred();
    a.then({ kind: 'wait', until: release.promise });
    const first = sy.chat(req());
    await until(() => a.calls.length === 1, 'first call to reach a');

    const { story } = await sy.chat(req(undefined, routing ? { routing } : {}), options);
    expect(story.model).toBe('b/m');
    expect(story.attempts[0]).toMatchObject({ key: 'a/m', outcome: 'rate_limited', latencyMs: 0, message: expect.stringMatching(/^local limit: max_concurrent 1 reached/) });
    expect(a.calls).toHaveLength(1);

    release.resolve();
    expect((await first).story.model).toBe('a/m');
  });

  it('the budget is what is left of it: time spent on earlier candidates counts', async () => {
    sim = simulate({ limits: { a: { max_concurrent: 1 } }, config: { routing: { retries_per_model: 0 } } });
    const { sy, a, c, clock, req } = sim;
    const releaseA = deferred();
    const releaseC = deferred();
    a.then({ kind: 'wait', until: releaseA.promise });
    c.then({ kind: 'wait', until: releaseC.promise, then: { kind: 'error', error: { kind: 'overloaded', status: 503, message: 'overloaded' } } });
    const first = sy.chat(req(['a/m']));
    await until(() => a.calls.length === 1, 'first call to reach a');

    // Waiting for a's slot and calling it (~2 x 5.4 s) fits the 12 s deadline, but not the 8 s left after c.
    const second = sy.chat(req(['c/m', 'a/m', 'b/m']), { deadlineMs: 12_000 });
    await until(() => c.calls.length === 1, 'second call to reach c');
    await clock.advance(4_000);
    releaseC.resolve();
    const { story } = await second;
    expect(story.attempts.map((x) => `${x.key} ${x.outcome}`)).toEqual(['c/m overloaded', 'a/m rate_limited', 'b/m ok']);
    expect(a.calls).toHaveLength(1);

    releaseA.resolve();
    await first;
  });

  it('with time to spare the call waits its turn instead', async () => {
    sim = simulate({ limits: { a: { max_concurrent: 1 } } });
    const { sy, a, b, req } = sim;
    const release = deferred();
    a.then({ kind: 'wait', until: release.promise }, { kind: 'ok' });
    const first = sy.chat(req());
    await until(() => a.calls.length === 1, 'first call to reach a');
    const second = sy.chat(req());
    await new Promise((r) => setTimeout(r, 20));
    expect(a.calls).toHaveLength(1);
    release.resolve();
    const [r1, r2] = await Promise.all([first, second]);
    expect([r1.story.model, r2.story.model]).toEqual(['a/m', 'a/m']);
    expect(r2.story.attempts).toHaveLength(1);
    expect(b.calls).toHaveLength(0);
  });

  it('requests_per_minute used up with a short budget: next candidate, and nothing is sent to A', async () => {
    sim = simulate({ limits: { a: { requests_per_minute: 1 } } });
    const { sy, a, req } = sim;
    expect((await sy.chat(req())).story.model).toBe('a/m');
    const { story } = await sy.chat(req(), { deadlineMs: 5_000 });
    expect(story.model).toBe('b/m');
    expect(story.attempts[0]!.message).toMatch(/requests_per_minute 1 used up/);
    expect(a.calls).toHaveLength(1);
  });

  it('when every candidate is limited the caller gets a 429 with Retry-After', async () => {
    sim = simulate({ limits: { a: { requests_per_minute: 1 }, b: { requests_per_minute: 1 } } });
    const { sy, req } = sim;
    await sy.chat(req(['a/m']));
    await sy.chat(req(['b/m']));
    const err = await sy.chat(req(), { deadlineMs: 5_000 }).catch((e) => e);
    expect(err).toMatchObject({ status: 429, code: 'rate_limit_exceeded' });
    expect(Number(err.headers['retry-after'])).toBeGreaterThan(5);
    expect(err.message).toMatch(/^all 2 attempts failed: a\/m rate_limited \(local limit/);
  });
});
