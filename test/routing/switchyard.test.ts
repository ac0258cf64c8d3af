import { createSwitchyard } from '../../src/core/routing/switchyard';
import { GatewayError, validationError } from '../../src/core/errors';
import { RoutingOptionsSchema, type RouteStory } from '../../src/core/routing/types';
import { collect } from '../helpers/fixtures';
import { assertOpenAIError } from '../helpers/openai-schema';
import { hello, model, textOf } from './helpers/fakes';
import { simulate } from './helpers/setup';

describe('response cache', () => {
  it('opt-in per request: a hit costs nothing, calls nobody and says so', async () => {
    const { sy, a, run, req } = simulate();
    const ask = req(['a/m'], { routing: { cache: true } });
    const first = await run(sy.chat(ask));
    expect(first.story.cached).toBe(false);
    const second = await run(sy.chat(ask));
    expect(a.calls).toHaveLength(1);
    expect(second.response).toEqual(first.response);
    expect(second.story).toMatchObject({ cached: true, costUsd: 0, model: 'a/m', provider: 'a', attempts: [] });
    expect(second.story.reason).toMatch(/^Cache hit/);
    // not opted in: goes upstream
    await run(sy.chat(req(['a/m'])));
    expect(a.calls).toHaveLength(2);
  });

  it("serves a caller bound to a plan (a key's allow-list) only answers of models that plan may use", async () => {
    const { sy, a, b, run, req } = simulate();
    const ask = req(['a/m', 'b/m'], { routing: { cache: true } });
    expect((await run(sy.chat(ask))).story.model).toBe('a/m');
    const onlyB = sy.plan(ask, { onlyModels: ['b/m'] });
    const narrowed = await run(sy.chat(ask, { plan: onlyB }));
    expect(narrowed.story).toMatchObject({ cached: false, model: 'b/m' });
    expect([a.calls.length, b.calls.length]).toEqual([1, 1]);
    // A plan that may use a/m still gets the stored answer.
    expect((await run(sy.chat(ask, { plan: sy.plan(ask) }))).story.cached).toBe(true);
  });

  it('misses after the TTL and for a different request', async () => {
    const { sy, a, clock, run, req } = simulate({ config: { cache: { ttl_ms: 60_000 } } });
    const ask = req(['a/m'], { routing: { cache: true } });
    await run(sy.chat(ask));
    await run(sy.chat({ ...ask, temperature: 0.9 }));
    expect(a.calls).toHaveLength(2);
    await clock.advance(59_000);
    await run(sy.chat(ask));
    expect(a.calls).toHaveLength(2);
    await clock.advance(2_000);
    await run(sy.chat(ask));
    expect(a.calls).toHaveLength(3);
  });

  it('caches temperature-0 requests when configured, unless the request opts out', async () => {
    const { sy, a, run, req } = simulate({ config: { cache: { temperature_zero: true } } });
    const t0 = req(['a/m'], { temperature: 0 });
    await run(sy.chat(t0));
    await run(sy.chat(t0));
    expect(a.calls).toHaveLength(1);
    await run(sy.chat({ ...t0, routing: { cache: false } }));
    expect(a.calls).toHaveLength(2);
  });

  it('replays a cached answer as a stream, and caches a streamed answer for later calls', async () => {
    const { sy, a, b, run, req } = simulate();
    const ask = req(['a/m'], { routing: { cache: true } });
    const first = await run(sy.chat(ask));
    const replay = await run(sy.stream(ask));
    const chunks = await collect(replay.chunks);
    expect(textOf(chunks)).toBe(first.response.choices[0]?.message.content);
    expect(chunks.at(-1)?.usage).toEqual(first.response.usage);
    expect(await replay.story).toMatchObject({ cached: true, costUsd: 0 });
    expect(a.calls).toHaveLength(1);

    const streamed = req(['b/m'], { routing: { cache: true } });
    const s = await run(sy.stream(streamed));
    await run(collect(s.chunks));
    await s.story;
    const hit = await run(sy.chat(streamed));
    expect(hit.story.cached).toBe(true);
    expect(hit.response.choices[0]?.message.content).toBe('answer from b');
    expect(b.calls).toHaveLength(1);
  });

  it('never caches a stream that failed', async () => {
    const { sy, a, run, req } = simulate();
    a.then({ kind: 'cut', afterPieces: 1 });
    const ask = req(['a/m'], { routing: { cache: true } });
    const s = await run(sy.stream(ask));
    await run(collect(s.chunks)).catch(() => undefined);
    await s.story;
    expect((await run(sy.chat(ask))).story.cached).toBe(false);
  });
});

describe('cost accounting', () => {
  it('prices the provider-reported usage with the model that answered, and records the price', async () => {
    const models = [model('a/m', { pricing: { input: 2, cached_input: 1, output: 8 } }), model('b/m', { pricing: { input: 10, output: 30 } })];
    const { sy, a, run, req } = simulate({ models, config: { routing: { retries_per_model: 0 } } });
    const usage = { prompt_tokens: 1_000, completion_tokens: 500, total_tokens: 1_500, prompt_tokens_details: { cached_tokens: 200 } };
    a.then({ kind: 'ok', usage });
    const { story } = await run(sy.chat(req()));
    expect(story.costUsd).toBe(0.0058);
    expect(story.pricing).toEqual({ input: 2, cached_input: 1, output: 8 });
    expect(story.usage).toEqual(usage);

    a.then({ kind: 'error', error: { kind: 'overloaded', status: 503, message: 'x' } });
    const fallback = await run(sy.chat(req()));
    expect(fallback.story.costUsd).toBe((100 * 10 + 20 * 30) / 1e6);
    expect(fallback.story.pricing).toEqual({ input: 10, output: 30 });
  });
});

describe('requests the plan cannot route', () => {
  it('unknown model: 404 model_not_found', async () => {
    const { sy, run } = simulate();
    const err = (await run(sy.chat({ model: 'no-such-model', ...hello })).catch((e) => e)) as GatewayError;
    expect(err).toBeInstanceOf(GatewayError);
    expect(err).toMatchObject({ status: 404, code: 'model_not_found', param: 'model' });
    expect(err.message).toMatch(/no-such-model/);
  });

  it('no model satisfies the request: 400 with every exclusion reason', async () => {
    const { sy, a, run } = simulate();
    const err = (await run(sy.chat({ model: 'auto', ...hello, routing: { require: ['vision'] } })).catch((e) => e)) as GatewayError;
    expect(err).toMatchObject({ status: 400, code: 'no_model_available' });
    for (const key of ['a/m', 'b/m', 'c/m']) expect(err.message).toContain(`${key}: no support for vision (routing.require asks for it)`);
    expect(a.calls).toHaveLength(0);
  });

  it('invalid request: 400 naming the field', async () => {
    const { sy, run } = simulate();
    const err = (await run(sy.chat({ model: 'auto', messages: [] })).catch((e) => e)) as GatewayError;
    expect(err).toMatchObject({ status: 400, param: 'messages' });
    expect(() => sy.plan({ model: 'auto', ...hello, routing: { prefer: 'fastest' } } as never)).toThrow(/routing\.prefer/);
    await expect(run(sy.chat({ model: 'a/m', ...hello }, { deadlineMs: 0 }))).rejects.toMatchObject({ status: 400, param: 'deadlineMs' });
  });

  it.each<[string, Record<string, unknown>, string]>([
    ['prefer', { routing: { prefer: 'fastest' } }, 'routing.prefer'],
    ['max_cost_usd', { routing: { max_cost_usd: -1 } }, 'routing.max_cost_usd'],
    ['max_latency_ms', { routing: { max_latency_ms: 1.5 } }, 'routing.max_latency_ms'],
    ['max_ttft_ms', { routing: { max_ttft_ms: 0 } }, 'routing.max_ttft_ms'],
    ['require', { routing: { require: ['tools', 'telepathy'] } }, 'routing.require[1]'],
    ['providers.allow', { routing: { providers: { allow: 'openai' } } }, 'routing.providers.allow'],
    ['fallback_models', { routing: { fallback_models: [''] } }, 'routing.fallback_models[0]'],
    ['an unknown routing field', { routing: { prefered: 'cost' } }, 'routing.prefered'],
    ['models', { models: [] }, 'models'],
  ])('a bad routing extension (%s) is a 400 that names the field', async (_what, extra, param) => {
    const { sy, a, run } = simulate();
    const err = (await run(sy.chat({ model: 'auto', ...hello, ...extra } as never)).catch((e) => e)) as GatewayError;
    expect(err).toBeInstanceOf(GatewayError);
    expect(err.toBody().error).toMatchObject({ type: 'invalid_request_error', param, code: 'invalid_value' });
    expect(err.message).toContain(`'${param}'`);
    expect(a.calls).toHaveLength(0);
  });

  it('the x-switchyard-route header form names its fields under the header', () => {
    const result = RoutingOptionsSchema.safeParse(JSON.parse('{"prefer":"cost","require":["vison"]}'));
    expect(result.success).toBe(false);
    expect(validationError(result.error!, 'x-switchyard-route.').param).toBe('x-switchyard-route.require[0]');
  });

  it('chat() ignores a stray stream flag: non-streaming models stay candidates', async () => {
    const models = [model('a/m', { capabilities: { tools: true, json_schema: true, vision: false, streaming: false } }), model('b/m')];
    const { sy, a, run, req } = simulate({ models });
    const { story } = await run(sy.chat({ ...req(), stream: true }));
    expect(story.model).toBe('a/m');
    expect(a.calls[0]!.req.stream).toBeUndefined();
  });
});

describe('errors a caller gets', () => {
  const KEY = 'sk-proj-abcdefghijklmnop1234';
  const leaky = (kind: 'bad_request' | 'overloaded', status: number) => ({
    kind: 'error' as const,
    error: { kind, status, message: `request with key ${KEY} failed` },
  });

  it('are OpenAI-shaped GatewayErrors with a status, naming what went wrong, never a key', async () => {
    const cases: Array<[string, (sim: ReturnType<typeof simulate>) => Promise<unknown>, number]> = [
      ['every candidate failed', (x) => (x.a.always(leaky('overloaded', 503)), x.b.always(leaky('overloaded', 503)), x.run(x.sy.chat(x.req()))), 503],
      ['the upstream rejected the request', (x) => (x.a.always(leaky('bad_request', 400)), x.run(x.sy.chat(x.req()))), 400],
      ['the deadline passed', (x) => (x.a.always({ kind: 'ok', latencyMs: 5_000 }), x.run(x.sy.chat(x.req(), { deadlineMs: 1_000 }))), 504],
      ['the caller aborted', (x) => x.run(x.sy.chat(x.req(), { signal: AbortSignal.abort() })), 499],
      ['the model is unknown', (x) => x.run(x.sy.chat({ model: 'gpt-17', ...hello })), 404],
      ['no model fits', (x) => x.run(x.sy.chat({ model: 'auto', ...hello, routing: { require: ['vision'] } })), 400],
      ['the stream could not start', (x) => (x.a.always(leaky('overloaded', 503)), x.b.always(leaky('overloaded', 503)), x.run(x.sy.stream(x.req()))), 503],
    ];
    for (const [what, call, status] of cases) {
      const sim = simulate({ config: { routing: { retries_per_model: 0 } } });
      const err = await call(sim).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect([what, err]).toEqual([what, expect.any(GatewayError)]);
      const body = (err as GatewayError).toBody();
      assertOpenAIError(body);
      expect([what, (err as GatewayError).status]).toEqual([what, status]);
      expect(body.error.message.length).toBeGreaterThan(20);
      expect(JSON.stringify(body)).not.toContain(KEY);
    }
  });
});

describe('a plan the caller already made', () => {
  it('is used as it is by chat() and stream(): its candidates, in its order', async () => {
    const { sy, a, b, run, req } = simulate();
    const ask = req(['a/m', 'b/m']);
    const plan = sy.plan(ask);
    const onlyB = { ...plan, candidates: plan.candidates.filter((c) => c.key === 'b/m') };
    expect((await run(sy.chat(ask, { plan: onlyB }))).story.model).toBe('b/m');
    const streamed = await run(sy.stream(ask, { plan: onlyB }));
    await run(collect(streamed.chunks));
    expect(streamed.model).toBe('b/m');
    expect(a.calls).toHaveLength(0);
    expect(b.calls).toHaveLength(2);
  });
});

describe('createSwitchyard', () => {
  it('validates its config and names the offending field', () => {
    expect(() => createSwitchyard({ routing: { retries_per_model: 99 } }, { runtimes: [] })).toThrow(/routing\.retries_per_model/);
    expect(() => createSwitchyard({ providers: { 'Bad Name': { type: 'openai' } } }, { runtimes: [] })).toThrow(/providers/);
    expect(() => createSwitchyard({ routing: { rules: [{ when: { prompt_matches: '(' }, use: ['x'] }] } }, { runtimes: [] })).toThrow(/prompt_matches/);
  });

  it('builds the catalog for configured providers from the env-free config', async () => {
    const sy = createSwitchyard({ providers: { openai: { type: 'openai', api_key: 'sk-test-1234567890' } } }, { env: {} });
    const models = sy.models();
    expect(models.length).toBeGreaterThan(0);
    expect(models.every((m) => m.provider === 'openai')).toBe(true);
    const plan = sy.plan({ model: 'auto:cost', ...hello });
    expect(plan.candidates.length).toBeGreaterThan(0);
    expect(plan.candidates.every((c) => c.provider === 'openai')).toBe(true);
    await sy.close();
  });

  it('drops injected catalog models whose provider is not configured', () => {
    const { sy } = simulate({ models: [model('a/m'), model('zz/m')] });
    expect(sy.models().map((m) => m.key)).toEqual(['a/m']);
  });

  it('emits attempt, story and failure events; a throwing listener changes nothing', async () => {
    const { sy, a, b, run, req } = simulate({ config: { routing: { retries_per_model: 0 } } });
    const seen: string[] = [];
    sy.on('attempt', (x) => seen.push(`attempt ${x.key} ${x.outcome}`));
    sy.on('story', (s: RouteStory) => seen.push(`story ${s.model}`));
    sy.on('failure', (f) => seen.push(`failure ${f.error.status} ${f.attempts.length}`));
    sy.on('story', () => {
      throw new Error('broken hook');
    });
    a.then({ kind: 'error', error: { kind: 'overloaded', status: 503, message: 'x' } });
    await run(sy.chat(req()));
    a.then({ kind: 'error', error: { kind: 'overloaded', status: 503, message: 'x' } });
    b.then({ kind: 'error', error: { kind: 'bad_request', status: 400, message: 'no' } });
    await run(sy.chat(req())).catch(() => undefined);
    expect(seen).toEqual(['attempt a/m overloaded', 'attempt b/m ok', 'story b/m', 'attempt a/m overloaded', 'attempt b/m bad_request', 'failure 400 2']);
  });

  it('close() aborts pending calls and refuses new ones', async () => {
    const { sy, a, req } = simulate();
    a.always({ kind: 'wait' });
    // not on virtual time: the clock must not reach the deadline first
    const pending = sy.chat(req());
    pending.catch(() => undefined);
    await new Promise((r) => setImmediate(r));
    expect(a.calls).toHaveLength(1);
    await sy.close();
    await expect(pending).rejects.toMatchObject({ status: 499 });
    await expect(sy.chat(req())).rejects.toMatchObject({ status: 503, code: 'closed' });
  });
});
