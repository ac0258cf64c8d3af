import { GatewayError } from '../../src/core/errors';
import { abandonedCallStory } from '../../src/core/routing/story';
import { model } from './helpers/fakes';
import { simulate } from './helpers/setup';

const overloaded = { kind: 'error' as const, error: { kind: 'overloaded' as const, status: 503, message: 'service overloaded' } };
const rateLimited = (retryAfterMs?: number) => ({
  kind: 'error' as const,
  error: { kind: 'rate_limited' as const, status: 429, message: 'Rate limit reached', retryAfterMs },
});

describe('retries and fallback', () => {
  it('A answers 429, B answers: the caller gets B, the story tells why, no real waiting', async () => {
    const { sy, a, run, req } = simulate({ config: { routing: { retries_per_model: 0 } } });
    a.always(rateLimited());
    const { response, story } = await run(sy.chat(req()));
    expect(response.choices[0]?.message.content).toBe('answer from b');
    expect(story.model).toBe('b/m');
    expect(story.provider).toBe('b');
    expect(story.attempts).toEqual([
      expect.objectContaining({ key: 'a/m', outcome: 'rate_limited', status: 429 }),
      expect.objectContaining({ key: 'b/m', outcome: 'ok' }),
    ]);
    expect(story.reason).toMatch(/Fell back to b\/m after: a\/m rate_limited/);
    expect(a.calls).toHaveLength(1);
  });

  it('the story carries who answered, every attempt with its error kind and latency, the cost, the cache flag and the reason', async () => {
    const models = [model('a/m'), model('b/m', { pricing: { input: 3, output: 15 } })];
    const { sy, a, b, run, req } = simulate({ models, config: { routing: { retries_per_model: 0 } } });
    a.then({ kind: 'error', latencyMs: 300, error: { kind: 'rate_limited', status: 429, message: 'Rate limit reached' } });
    b.then({ kind: 'ok', latencyMs: 700 });
    const { story } = await run(sy.chat(req()));
    expect(story).toEqual({
      requestedModel: 'a/m',
      model: 'b/m',
      provider: 'b',
      attempts: [
        { key: 'a/m', provider: 'a', outcome: 'rate_limited', status: 429, latencyMs: 300, message: 'Rate limit reached' },
        { key: 'b/m', provider: 'b', outcome: 'ok', latencyMs: 700 },
      ],
      costUsd: (100 * 3 + 20 * 15) / 1e6,
      pricing: { input: 3, output: 15 },
      usage: { prompt_tokens: 100, completion_tokens: 20, total_tokens: 120 },
      cached: false,
      reason: 'You asked for a/m; a/m is tried first (about $0.001 and 5.4 s per call). Fell back to b/m after: a/m rate_limited.',
      latencyMs: 1_000,
      plan: { candidates: [expect.objectContaining({ key: 'a/m' }), expect.objectContaining({ key: 'b/m' })], excluded: [], prefer: 'balanced' },
    });
  });

  it('retries on the same model after the Retry-After the upstream asked for', async () => {
    const { sy, a, b, clock, run, req } = simulate();
    a.then(rateLimited(3_000), { kind: 'ok' });
    const t0 = clock.now();
    const { story } = await run(sy.chat(req()));
    expect(story.model).toBe('a/m');
    expect(story.attempts.map((x) => x.outcome)).toEqual(['rate_limited', 'ok']);
    expect(a.calls[1]!.at - a.calls[0]!.at).toBe(3_000);
    expect(clock.now() - t0).toBe(3_000);
    expect(story.reason).toMatch(/after retrying: a\/m rate_limited/);
    expect(b.calls).toHaveLength(0);
  });

  it('backs off with jitter between retries when no Retry-After is given', async () => {
    const { sy, a, run, req } = simulate({ config: { routing: { backoff_base_ms: 400 } } });
    a.then(overloaded, { kind: 'ok' });
    await run(sy.chat(req()));
    const gap = a.calls[1]!.at - a.calls[0]!.at;
    expect(gap).toBeGreaterThanOrEqual(200);
    expect(gap).toBeLessThanOrEqual(400);
  });

  it('goes straight to the next candidate when Retry-After is longer than any backoff', async () => {
    const { sy, a, clock, run, req } = simulate();
    a.always(rateLimited(60_000));
    const t0 = clock.now();
    const { story } = await run(sy.chat(req()));
    expect(story.model).toBe('b/m');
    expect(a.calls).toHaveLength(1);
    expect(clock.now() - t0).toBe(0);
  });

  it('falls back after retries_per_model retries, and lists every attempt when all fail', async () => {
    const { sy, a, b, run, req } = simulate({ config: { routing: { retries_per_model: 1 } } });
    a.always(overloaded);
    b.always(rateLimited());
    const err = (await run(sy.chat(req())).catch((e) => e)) as GatewayError;
    expect(err).toBeInstanceOf(GatewayError);
    expect(err.message).toMatch(
      /^all 4 attempts failed: a\/m overloaded \(503\); a\/m overloaded \(503\); b\/m rate_limited \(429\); b\/m rate_limited \(429\)\. Last error: b: Rate limit reached$/,
    );
    expect(err.status).toBe(429);
    expect(err.toBody().error.code).toBe('rate_limit_exceeded');
  });

  it('stops at max_attempts', async () => {
    const { sy, a, b, c, run, req } = simulate({ config: { routing: { retries_per_model: 2, max_attempts: 2 } } });
    a.always(overloaded);
    const err = (await run(sy.chat(req(['a/m', 'b/m', 'c/m']))).catch((e) => e)) as GatewayError;
    expect(a.calls.length + b.calls.length + c.calls.length).toBe(2);
    expect(err.status).toBe(503);
    expect(err.message).toMatch(/^all 2 attempts failed/);
  });

  it('sends the adapter the provider model id without the routing extension', async () => {
    const { sy, a, run, req } = simulate({ models: [model('a/m', { model: 'm-2025-01-01' }), model('b/m')] });
    await run(sy.chat(req(['a/m'], { routing: { prefer: 'cost', cache: false }, temperature: 0.3 })));
    const sent = a.calls[0]!.req as Record<string, unknown>;
    expect(sent.model).toBe('m-2025-01-01');
    expect(sent).not.toHaveProperty('routing');
    expect(sent).not.toHaveProperty('models');
    expect(sent.temperature).toBe(0.3);
    expect(a.calls[0]!.ctx.credentials.apiKey).toBe('sk-fake-a-key');
  });
});

describe('non-retryable errors', () => {
  it('auth: falls back only to another provider', async () => {
    const models = [model('a/m1'), model('a/m2'), model('b/m')];
    const { sy, a, run, req } = simulate({ models });
    a.always({ kind: 'error', error: { kind: 'auth', status: 401, message: 'Incorrect API key provided: sk-abc123456' } });
    const { story } = await run(sy.chat(req(['a/m1', 'a/m2', 'b/m'])));
    expect(story.model).toBe('b/m');
    expect(a.calls).toHaveLength(1);
    expect(story.attempts[0]).toMatchObject({ key: 'a/m1', outcome: 'auth', status: 401 });
    expect(story.attempts[0]!.message).not.toContain('sk-abc123456');
  });

  it('bad_request: returns at once', async () => {
    const { sy, a, b, run, req } = simulate();
    a.always({ kind: 'error', error: { kind: 'bad_request', status: 400, message: "Invalid value for 'temperature'" } });
    const err = (await run(sy.chat(req())).catch((e) => e)) as GatewayError;
    expect(err).toBeInstanceOf(GatewayError);
    expect(err.status).toBe(400);
    expect(err.code).toBe('upstream_bad_request');
    expect(err.message).toContain("Invalid value for 'temperature'");
    expect(b.calls).toHaveLength(0);
  });

  it('a 404 (a model that provider does not serve) falls back to the next model, without retrying', async () => {
    const { sy, a, b, run, req } = simulate();
    a.always({ kind: 'error', error: { kind: 'bad_request', status: 404, message: 'The model `m` does not exist' } });
    const res = await run(sy.chat(req()));
    expect(res.story.model).toBe('b/m');
    expect([a.calls.length, b.calls.length]).toEqual([1, 1]);
    expect(res.story.attempts.map((x) => `${x.key} ${x.outcome}`)).toEqual(['a/m bad_request', 'b/m ok']);
  });

  it('context_length_exceeded: falls back only to a model with a larger context window', async () => {
    const models = [model('a/small', { context_window: 8_000 }), model('b/same', { context_window: 8_000 }), model('c/large', { context_window: 128_000 })];
    const { sy, a, b, c, run, req } = simulate({ models });
    a.always({ kind: 'error', error: { kind: 'context_length_exceeded', status: 400, message: 'maximum context length is 8000 tokens' } });
    const { story } = await run(sy.chat(req(['a/small', 'b/same', 'c/large'])));
    expect(story.model).toBe('c/large');
    expect(b.calls).toHaveLength(0);
    expect(c.calls).toHaveLength(1);
    expect(a.calls).toHaveLength(1);
  });

  it('content_filter: returned at once unless content_filter_fallback is on', async () => {
    const refusal = { kind: 'error' as const, error: { kind: 'content_filter' as const, status: 400, message: 'blocked by policy' } };
    const strict = simulate();
    strict.a.always(refusal);
    await expect(strict.run(strict.sy.chat(strict.req()))).rejects.toMatchObject({ status: 400, code: 'content_filter' });
    expect(strict.b.calls).toHaveLength(0);

    const lenient = simulate({ config: { routing: { content_filter_fallback: true } } });
    lenient.a.always(refusal);
    const { story } = await lenient.run(lenient.sy.chat(lenient.req()));
    expect(story.model).toBe('b/m');
  });
});

describe('truncated answers', () => {
  it('a non-streaming answer cut mid-body is retried on the next candidate, never returned', async () => {
    const { sy, a, run, req } = simulate({ config: { routing: { retries_per_model: 0 } } });
    a.always({ kind: 'cut', afterPieces: 1 });
    const { response, story } = await run(sy.chat(req()));
    expect(response.choices[0]?.message.content).toBe('answer from b');
    expect(story.attempts[0]).toMatchObject({ key: 'a/m', outcome: 'upstream_error' });
  });

  it('a 200 without choices counts as a failure', async () => {
    const { sy, a, run, req } = simulate({ config: { routing: { retries_per_model: 0 } } });
    a.always({ kind: 'empty' });
    const { story } = await run(sy.chat(req()));
    expect(story.model).toBe('b/m');
    expect(story.attempts[0]!.message).toMatch(/no choices/);
  });
});

describe('deadline, time to first token, caller abort', () => {
  it('one deadline bounds every attempt: the slow upstream is abandoned exactly at the deadline', async () => {
    const { sy, a, b, clock, run, req } = simulate();
    a.always({ kind: 'ok', latencyMs: 10_000 });
    const t0 = clock.now();
    const before = Date.now();
    const err = (await run(sy.chat(req(), { deadlineMs: 2_000 })).catch((e) => e)) as GatewayError;
    expect(clock.now() - t0).toBe(2_000);
    expect(err.status).toBe(504);
    expect(err.code).toBe('deadline_exceeded');
    expect(err.message).toMatch(/deadline of 2000 ms exceeded after 1 attempt\(s\): a\/m timeout/);
    expect(b.calls).toHaveLength(0);
    expect(a.calls[0]!.ctx.signal?.aborted).toBe(true);
    // the adapter also got the deadline as epoch time, for its own timers
    expect(a.calls[0]!.ctx.deadline).toBeGreaterThanOrEqual(before + 2_000);
    expect(a.calls[0]!.ctx.deadline).toBeLessThanOrEqual(Date.now() + 2_000);
  });

  it('fallbacks share the deadline', async () => {
    const { sy, a, b, clock, run, req } = simulate({ config: { routing: { retries_per_model: 0 } } });
    a.always({ ...overloaded, latencyMs: 1_500 });
    b.always({ kind: 'ok', latencyMs: 1_000 });
    const t0 = clock.now();
    const err = (await run(sy.chat(req(), { deadlineMs: 2_000 })).catch((e) => e)) as GatewayError;
    expect(clock.now() - t0).toBe(2_000);
    expect(err.status).toBe(504);
    expect(err.message).toMatch(/a\/m overloaded \(503\); b\/m timeout/);
  });

  it('does not start a backoff that would outlast the deadline', async () => {
    const { sy, a, run, req } = simulate();
    a.always(rateLimited(1_500));
    const { story } = await run(sy.chat(req(), { deadlineMs: 1_000 }));
    expect(story.model).toBe('b/m');
    expect(a.calls).toHaveLength(1);
  });

  it('non-streaming: only the deadline bounds the wait for an answer, unless the request sets max_ttft_ms', async () => {
    // A non-streaming upstream sends its first byte with the whole answer: the config's TTFT default
    // (meant for streams) would cut long answers, so the adapter gets the time left instead.
    const { sy, a, clock, run, req } = simulate({ config: { routing: { max_ttft_ms: 7_000, deadline_ms: 90_000 } } });
    a.then({ kind: 'ok', latencyMs: 20_000 });
    const t0 = clock.now();
    const { story } = await run(sy.chat(req()));
    expect(story.model).toBe('a/m');
    expect(clock.now() - t0).toBe(20_000);
    expect(a.calls[0]!.ctx.timeouts).toEqual({ firstByteMs: 90_000 });
    await run(sy.chat(req(['a/m'], { routing: { max_ttft_ms: 1_234 } })));
    expect(a.calls[1]!.ctx.timeouts).toEqual({ firstByteMs: 1_234 });
  });

  it('a caller abort stops everything: no further attempts', async () => {
    const { sy, a, b, clock, run, req } = simulate();
    a.always({ kind: 'wait' });
    const ac = new AbortController();
    void clock.sleep(500).then(() => ac.abort());
    const err = (await run(sy.chat(req(), { signal: ac.signal })).catch((e) => e)) as GatewayError;
    expect(err.status).toBe(499);
    expect(a.calls).toHaveLength(1);
    expect(a.calls[0]!.ctx.signal?.aborted).toBe(true);
    expect(b.calls).toHaveLength(0);
    // The upstream already had the prompt: the abandoned call is charged for it, on an estimate.
    const story = abandonedCallStory(err)!;
    expect(story).toMatchObject({ model: 'a/m', usageEstimated: true, usage: { completion_tokens: 0 } });
    expect(story.usage!.prompt_tokens).toBeGreaterThan(0);
    expect(story.costUsd).toBe((story.usage!.prompt_tokens * 1) / 1e6);
  });

  it('a caller abort during a backoff wait prevents the retry', async () => {
    const { sy, a, b, clock, run, req } = simulate();
    a.always(rateLimited(2_000));
    const ac = new AbortController();
    void clock.sleep(1_000).then(() => ac.abort());
    const attempts: string[] = [];
    sy.on('attempt', (x) => attempts.push(`${x.key} ${x.outcome}`));
    await expect(run(sy.chat(req(), { signal: ac.signal }))).rejects.toMatchObject({ status: 499 });
    expect(a.calls).toHaveLength(1);
    expect(b.calls).toHaveLength(0);
    expect(attempts).toEqual(['a/m rate_limited']);
  });

  it('a caller abort with no upstream working on the prompt charges nothing', async () => {
    const { sy, a, clock, run, req } = simulate();
    a.always(rateLimited(2_000));
    const ac = new AbortController();
    void clock.sleep(1_000).then(() => ac.abort());
    const err: unknown = await run(sy.chat(req(), { signal: ac.signal })).catch((e: unknown) => e);
    expect(abandonedCallStory(err)).toBeUndefined();
    expect(abandonedCallStory(await run(sy.chat(req(), { signal: AbortSignal.abort() })).catch((e: unknown) => e))).toBeUndefined();
  });

  it('an already aborted signal sends nothing', async () => {
    const { sy, a, run, req } = simulate();
    await expect(run(sy.chat(req(), { signal: AbortSignal.abort() }))).rejects.toMatchObject({ status: 499 });
    expect(a.calls).toHaveLength(0);
  });
});
