import type { CallContext } from '../../src/core/adapter';
import { ProviderError } from '../../src/core/errors';
import { CallerAbortError } from '../../src/core/http';
import type { ChatRequest } from '../../src/core/schema';
import { DemoAdapter, DEMO_MODELS } from '../../src/providers/demo';
import { sampleJson } from '../../src/providers/demo-content';
import { ADAPTER_FACTORIES } from '../../src/providers/registry';
import { collect } from '../helpers/fixtures';
import { assertOpenAIChunk, assertOpenAIResponse } from '../helpers/openai-schema';

const ctx: CallContext = { credentials: { baseUrl: 'http://in-process.invalid' } };
const ask = (content: string, model = 'mini'): ChatRequest => ({ model, messages: [{ role: 'user', content }] });

/** Instant time: records every delay the adapter asked for. */
function instantSleep() {
  const delays: number[] = [];
  return {
    delays,
    sleep: async (ms: number, signal?: AbortSignal) => {
      if (signal?.aborted) throw new CallerAbortError();
      delays.push(ms);
    },
  };
}

describe('demo provider', () => {
  it('is registered as provider type demo', () => {
    expect(ADAPTER_FACTORIES.demo!('demo', { type: 'demo', enabled: true })).toBeInstanceOf(DemoAdapter);
  });

  it('answers deterministically, varied by prompt and model, clearly marked as simulated', async () => {
    const a = new DemoAdapter({ failureRate: 0, sleep: instantSleep().sleep });
    const one = await a.complete(ask('What is a switchyard?'), ctx);
    assertOpenAIResponse(one);
    const text = one.choices[0]!.message.content!;
    expect(text.startsWith('[simulated by Switchyard demo/mini] ')).toBe(true);
    expect(text).toContain('"What is a switchyard?"');
    expect((await a.complete(ask('What is a switchyard?'), ctx)).choices[0]!.message.content).toBe(text);
    expect((await a.complete(ask('Write a haiku'), ctx)).choices[0]!.message.content).not.toBe(text);
    const pro = (await a.complete(ask('What is a switchyard?', 'pro'), ctx)).choices[0]!.message.content!;
    expect(pro.startsWith('[simulated by Switchyard demo/pro] ')).toBe(true);
    expect(pro.length).toBeGreaterThan(text.length);
    expect(one.usage!.completion_tokens).toBeGreaterThan(0);
    expect(one.usage!.total_tokens).toBe(one.usage!.prompt_tokens + one.usage!.completion_tokens);
  });

  it('takes realistic, scaled time: slower models take longer', async () => {
    const time = instantSleep();
    const a = new DemoAdapter({ failureRate: 0, latencyScale: 1, sleep: time.sleep, seed: 1 });
    await a.complete(ask('hello'), ctx);
    const mini = time.delays.reduce((s, d) => s + d, 0);
    time.delays.length = 0;
    await a.complete(ask('hello', 'pro'), ctx);
    const pro = time.delays.reduce((s, d) => s + d, 0);
    expect(mini).toBeGreaterThanOrEqual(DEMO_MODELS.mini!.ttftMs * 0.8);
    expect(pro).toBeGreaterThan(mini * 3);
    const half = instantSleep();
    await new DemoAdapter({ failureRate: 0, latencyScale: 0.5, sleep: half.sleep, seed: 1 }).complete(ask('hello'), ctx);
    expect(half.delays.reduce((s, d) => s + d, 0)).toBeCloseTo(mini / 2, 5);
  });

  it('fails at the configured rate with 429 or 503, reproducibly with a seed', async () => {
    const outcomes = async (seed: number) => {
      const a = new DemoAdapter({ failureRate: 0.3, seed, sleep: instantSleep().sleep });
      const out: string[] = [];
      for (let i = 0; i < 200; i++) {
        try {
          await a.complete(ask(`q${i}`), ctx);
          out.push('ok');
        } catch (err) {
          expect(err).toBeInstanceOf(ProviderError);
          const e = err as ProviderError;
          expect([429, 503]).toContain(e.status);
          expect(e.retryable).toBe(true);
          out.push(e.kind);
        }
      }
      return out;
    };
    const first = await outcomes(7);
    expect(await outcomes(7)).toEqual(first);
    expect(await outcomes(8)).not.toEqual(first);
    const failures = first.filter((o) => o !== 'ok').length;
    expect(failures).toBeGreaterThan(30);
    expect(failures).toBeLessThan(90);
    expect(first).toContain('rate_limited');
    expect(first).toContain('overloaded');
  });

  it('streams schema-valid chunks ending with finish_reason and a usage chunk', async () => {
    const a = new DemoAdapter({ failureRate: 0, sleep: instantSleep().sleep });
    const chunks = await collect(a.stream(ask('Tell me about routing', 'standard'), ctx));
    chunks.forEach((c) => assertOpenAIChunk(c));
    const text = chunks.map((c) => c.choices[0]?.delta.content ?? '').join('');
    expect(text).toBe((await a.complete(ask('Tell me about routing', 'standard'), ctx)).choices[0]!.message.content);
    expect(chunks.at(-2)!.choices[0]!.finish_reason).toBe('stop');
    expect(chunks.at(-1)!.choices).toEqual([]);
    expect(chunks.at(-1)!.usage!.completion_tokens).toBeGreaterThan(0);
  });

  it('calls the requested tool with arguments that satisfy its schema, then reads the tool result', async () => {
    const a = new DemoAdapter({ failureRate: 0, sleep: instantSleep().sleep });
    const tools: ChatRequest['tools'] = [
      { type: 'function', function: { name: 'get_time', description: 'current time in a zone', parameters: { type: 'object', properties: { zone: { type: 'string' } } } } },
      {
        type: 'function',
        function: {
          name: 'get_weather',
          description: 'weather for a city',
          parameters: { type: 'object', properties: { city: { type: 'string' }, days: { type: 'integer', minimum: 1 }, unit: { enum: ['c', 'f'] } }, required: ['city', 'days', 'unit'] },
        },
      },
    ];
    const res = await a.complete({ ...ask('What is the weather in Paris?'), tools }, ctx);
    assertOpenAIResponse(res);
    expect(res.choices[0]!.finish_reason).toBe('tool_calls');
    const call = res.choices[0]!.message.tool_calls![0]!;
    expect(call.function.name).toBe('get_weather');
    expect(JSON.parse(call.function.arguments)).toEqual({ city: 'simulated city', days: 1, unit: 'c' });

    const followUp = await a.complete(
      {
        model: 'mini',
        tools,
        messages: [
          { role: 'user', content: 'What is the weather in Paris?' },
          { role: 'assistant', content: null, tool_calls: [call] },
          { role: 'tool', tool_call_id: call.id, content: '{"temp":21}' },
        ],
      },
      ctx,
    );
    expect(followUp.choices[0]!.message.content).toContain('{"temp":21}');
    const streamed = await collect(a.stream({ ...ask('weather in Paris?'), tools, tool_choice: { type: 'function', function: { name: 'get_time' } } }, ctx));
    streamed.forEach((c) => assertOpenAIChunk(c));
    const args = streamed.flatMap((c) => c.choices[0]?.delta.tool_calls ?? []).map((t) => t.function?.arguments ?? '').join('');
    expect(JSON.parse(args)).toEqual({ zone: 'simulated zone' });
  });

  it('answers json_schema requests with an object holding the required properties', async () => {
    const a = new DemoAdapter({ failureRate: 0, sleep: instantSleep().sleep });
    const schema = {
      type: 'object',
      properties: {
        name: { type: 'string' },
        score: { type: 'number', minimum: 3 },
        tags: { type: 'array', items: { type: 'string' }, minItems: 2 },
        address: { $ref: '#/$defs/address' },
        optional: { type: 'string' },
      },
      required: ['name', 'score', 'tags', 'address'],
      $defs: { address: { type: 'object', properties: { zip: { type: ['string', 'null'], format: 'email' } }, required: ['zip'] } },
    };
    const res = await a.complete({ ...ask('profile'), response_format: { type: 'json_schema', json_schema: { name: 'profile', schema } } }, ctx);
    const value = JSON.parse(res.choices[0]!.message.content!);
    expect(value).toEqual({ name: 'simulated name', score: 3, tags: ['simulated tags', 'simulated tags'], address: { zip: 'demo@example.com' } });
    expect(sampleJson({ anyOf: [{ type: 'null' }, { type: 'boolean' }] })).toBe(true);
    const obj = await a.complete({ ...ask('x'), response_format: { type: 'json_object' } }, ctx);
    expect(JSON.parse(obj.choices[0]!.message.content!)).toMatchObject({ simulated: true });
  });

  it('honours max_tokens, stop, unknown models, caller aborts and deadlines', async () => {
    const a = new DemoAdapter({ failureRate: 0, sleep: instantSleep().sleep });
    const short = await a.complete({ ...ask('long story', 'pro'), max_tokens: 3 }, ctx);
    expect(short.choices[0]!.finish_reason).toBe('length');
    expect(short.usage!.completion_tokens).toBe(3);
    const stopped = await a.complete({ ...ask('x'), stop: ['Switchyard'] }, ctx);
    expect(stopped.choices[0]!.message.content).toBe('[simulated by ');
    await expect(a.complete(ask('x', 'giant'), ctx)).rejects.toMatchObject({ kind: 'bad_request', status: 404 });
    const aborted = new AbortController();
    aborted.abort();
    await expect(a.complete(ask('x'), { ...ctx, signal: aborted.signal })).rejects.toBeInstanceOf(CallerAbortError);
    const late = new DemoAdapter({ failureRate: 0, latencyScale: 1, sleep: instantSleep().sleep, now: () => 1_000 });
    await expect(late.complete(ask('x', 'pro'), { ...ctx, deadline: 1_100 })).rejects.toMatchObject({ kind: 'timeout' });
    expect(await a.listModels()).toEqual([
      { id: 'mini', ownedBy: 'demo' },
      { id: 'standard', ownedBy: 'demo' },
      { id: 'pro', ownedBy: 'demo' },
    ]);
  });
});
