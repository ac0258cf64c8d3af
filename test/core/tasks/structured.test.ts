import { GatewayError } from '../../../src/core/errors';
import { StructuredOutputError, completeStructured, mergeStories, runStructured, type StructuredBackend } from '../../../src/core/tasks';
import { FakeSwitchyard, story } from './fake-switchyard';

const schema = {
  type: 'object',
  properties: { industry: { type: 'string' }, employees: { type: ['integer', 'null'] } },
  required: ['industry', 'employees'],
  additionalProperties: false,
};

const base = { prompt: 'Acme, 40 people, makes rockets', system: 'You enrich leads.', name: 'lead', schema, strict: true };

async function failure(promise: Promise<unknown>): Promise<StructuredOutputError> {
  const err = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  if (!(err instanceof StructuredOutputError)) throw new Error(`expected a StructuredOutputError, got ${String(err)}`);
  return err;
}

describe('completeStructured', () => {
  it('returns the data of a valid first answer, with the schema sent as response_format', async () => {
    const sy = new FakeSwitchyard(['{"industry":"Aerospace","employees":40}']);
    const result = await completeStructured(sy, { ...base, model: 'openai/gpt-4.1-mini', routing: { prefer: 'cost' }, temperature: 0 });
    expect(result).toMatchObject({ data: { industry: 'Aerospace', employees: 40 }, repaired: false, text: '{"industry":"Aerospace","employees":40}' });
    expect(result.stories).toHaveLength(1);
    expect(sy.requests).toEqual([
      {
        model: 'openai/gpt-4.1-mini',
        routing: { prefer: 'cost' },
        temperature: 0,
        messages: [
          { role: 'system', content: 'You enrich leads.' },
          { role: 'user', content: 'Acme, 40 people, makes rockets' },
        ],
        response_format: { type: 'json_schema', json_schema: { name: 'lead', schema, strict: true } },
      },
    ]);
  });

  it('tolerates a markdown fence or a sentence around the JSON', async () => {
    const fenced = await completeStructured(new FakeSwitchyard(['```json\n{"industry":"A","employees":null}\n```']), base);
    expect(fenced.data).toEqual({ industry: 'A', employees: null });
    const chatty = await completeStructured(new FakeSwitchyard(['Sure! Here it is: {"industry":"B","employees":3} Hope that helps.']), base);
    expect(chatty).toMatchObject({ data: { industry: 'B', employees: 3 }, repaired: false });
  });

  it('repairs invalid JSON with exactly one call that shows the answer and the error, to the model that answered', async () => {
    const sy = new FakeSwitchyard([
      { text: 'Sure! {industry: Aerospace', model: 'anthropic/claude-haiku-4-5' },
      { text: '{"industry":"Aerospace","employees":40}', model: 'anthropic/claude-haiku-4-5' },
    ]);
    const result = await completeStructured(sy, { ...base, model: 'auto', routing: { fallback_models: ['openai/gpt-4.1-mini'] } });
    expect(result).toMatchObject({ data: { industry: 'Aerospace', employees: 40 }, repaired: true });
    expect(sy.requests).toHaveLength(2);
    const [first, repair] = sy.requests;
    expect(repair?.model).toBe('anthropic/claude-haiku-4-5');
    expect(repair?.routing).toEqual({ fallback_models: ['openai/gpt-4.1-mini'] });
    expect(repair?.response_format).toEqual(first?.response_format);
    expect(repair?.messages.slice(0, 2)).toEqual(first?.messages);
    expect(repair?.messages[2]).toEqual({ role: 'assistant', content: 'Sure! {industry: Aerospace' });
    expect(repair?.messages[3]?.content).toMatch(/^Your answer is not valid JSON \(.+\)\. Reply again with only the corrected JSON object/);
  });

  it('repairs an answer that misses a required field or has a wrong type, naming each problem', async () => {
    const sy = new FakeSwitchyard(['{"employees":"forty","extra":1}', '{"industry":"Aerospace","employees":40}']);
    const result = await completeStructured(sy, base);
    expect(result.repaired).toBe(true);
    const asked = String(sy.requests[1]?.messages.at(-1)?.content);
    expect(asked).toContain('does not match the schema:');
    expect(asked).toContain('industry is missing');
    expect(asked).toContain('extra is not allowed');
    expect(asked).toContain('employees must be integer,null');
  });

  it('fails with a clear 502 when the repaired answer is still invalid, after exactly two calls', async () => {
    const sy = new FakeSwitchyard(['not json', { text: '{"industry":7,"employees":null}', model: 'openai/gpt-4.1-mini' }]);
    const err = await failure(completeStructured(sy, base));
    expect(sy.requests).toHaveLength(2);
    expect(err).toBeInstanceOf(GatewayError);
    expect(err).toMatchObject({ status: 502, code: 'invalid_model_output', type: 'api_error', repair: 'failed', problem: 'does not match the schema: industry must be string' });
    expect(err.message).toBe("openai/gpt-4.1-mini's answer does not fit the JSON schema 'lead': the answer does not match the schema: industry must be string (after one repair attempt)");
    expect(err.stories).toHaveLength(2);
    expect(err.toBody().error.code).toBe('invalid_model_output');
  });

  it('sums cost, latency, usage and attempts over the call and its repair; the last call names the model', async () => {
    const sy = new FakeSwitchyard([
      { text: '{}', model: 'groq/llama', costUsd: 0.0001, latencyMs: 300, failedAttempts: 1 },
      { text: '{"industry":"X","employees":1}', model: 'openai/gpt-4.1-mini', costUsd: 0.00025, latencyMs: 200 },
    ]);
    const { story: merged, stories } = await completeStructured(sy, base);
    expect(merged).toMatchObject({
      model: 'openai/gpt-4.1-mini',
      provider: 'openai',
      costUsd: 0.00035,
      latencyMs: 500,
      cached: false,
      usage: { prompt_tokens: 20, completion_tokens: 10, total_tokens: 30 },
      reason: 'picked openai/gpt-4.1-mini',
    });
    expect(merged.attempts.map((a) => a.outcome)).toEqual(['rate_limited', 'ok', 'ok']);
    expect(stories.map((s) => s.costUsd)).toEqual([0.0001, 0.00025]);
  });

  it('makes no repair call when repairs are off', async () => {
    const sy = new FakeSwitchyard(['{}']);
    const err = await failure(completeStructured(sy, { ...base, repair: false }));
    expect(err.repair).toBe('disabled');
    expect(err.message).toMatch(/industry is missing; employees is missing$/);
    expect(sy.requests).toHaveLength(1);
  });

  it('shares one deadline between both calls and skips a repair that would start too late', async () => {
    let now = 1_000;
    const clock = { now: () => now };
    const slow: Pick<FakeSwitchyard, 'chat'> & { inner: FakeSwitchyard } = {
      inner: new FakeSwitchyard(['{}', '{"industry":"X","employees":1}']),
      async chat(request, options) {
        now += 7_000;
        return this.inner.chat(request, options);
      },
    };
    const err = await failure(completeStructured(slow, { ...base, deadlineMs: 10_000, minRepairMs: 4_000, clock }));
    expect(err.repair).toBe('no_time');
    expect(err.message).toMatch(/no time was left for a repair attempt/);
    expect(slow.inner.requests).toHaveLength(1);

    now = 1_000;
    const roomy = { ...slow, inner: new FakeSwitchyard(['{}', '{"industry":"X","employees":1}']) };
    await expect(completeStructured(roomy, { ...base, deadlineMs: 20_000, minRepairMs: 4_000, clock })).resolves.toMatchObject({ repaired: true });
    expect(roomy.inner.deadlines).toEqual([20_000, 13_000]);
  });

  it('treats an empty answer as invalid (repaired), and a refusal as a 422 without a repair', async () => {
    const empty = new FakeSwitchyard([{ text: null }, '{"industry":"X","employees":1}']);
    await expect(completeStructured(empty, base)).resolves.toMatchObject({ repaired: true });
    expect(empty.requests[1]?.messages.at(-1)?.content).toMatch(/^Your answer is empty\./);

    const refusing = new FakeSwitchyard([{ text: null, refusal: 'I cannot help with that.', model: 'openai/gpt-4.1-mini' }]);
    await expect(completeStructured(refusing, base)).rejects.toMatchObject({ status: 422, code: 'model_refusal', message: 'openai/gpt-4.1-mini declined to answer: I cannot help with that.' });
    expect(refusing.requests).toHaveLength(1);
  });

  it('passes routing failures through untouched', async () => {
    const overloaded = new GatewayError(503, 'every candidate failed', { code: 'upstream_overloaded' });
    await expect(completeStructured(new FakeSwitchyard([{ error: overloaded }]), base)).rejects.toBe(overloaded);
  });

  it('refuses unusable input before any call: no prompt, both prompt and messages, a bad schema or name', async () => {
    const sy = new FakeSwitchyard([]);
    await expect(completeStructured(sy, { name: 'x', schema })).rejects.toMatchObject({ status: 400, param: 'prompt' });
    await expect(completeStructured(sy, { ...base, messages: [{ role: 'user', content: 'Hi' }] })).rejects.toMatchObject({ status: 400, param: 'prompt' });
    await expect(completeStructured(sy, { ...base, schema: { type: 'nope' } })).rejects.toMatchObject({ status: 400, code: 'invalid_json_schema', param: 'schema' });
    await expect(completeStructured(sy, { ...base, name: 'has spaces' })).rejects.toMatchObject({ status: 400, param: 'name' });
    expect(sy.requests).toHaveLength(0);
  });

  it('checks against validationSchema and refine when given, still sending schema', async () => {
    const sy = new FakeSwitchyard(['{"industry":"x","employees":1}', '{"industry":"AEROSPACE","employees":1}']);
    const result = await completeStructured(sy, {
      ...base,
      validationSchema: { ...schema, properties: { ...schema.properties, industry: { type: 'string', pattern: '^[A-Z]+$' } } },
      refine: (value) => ({ ok: true, value: { ...(value as object), checked: true } }),
    });
    expect(result).toMatchObject({ repaired: true, data: { industry: 'AEROSPACE', checked: true } });
    expect(sy.requests[1]?.messages.at(-1)?.content).toMatch(/industry must match pattern/);
    expect(sy.requests[0]?.response_format).toMatchObject({ json_schema: { schema } });
  });
});

describe('runStructured over any backend', () => {
  interface Reply {
    body: string | null;
    cost: number;
  }

  function backend(replies: Reply[]): StructuredBackend<Reply> & { sent: unknown[] } {
    const sent: unknown[] = [];
    return {
      sent,
      chat: async (request) => {
        sent.push(request);
        return replies.shift() as Reply;
      },
      text: (reply) => reply.body,
    };
  }

  it('returns every call made, so the caller can add up its own route data', async () => {
    const b = backend([
      { body: '{"industry":1}', cost: 1 },
      { body: '{"industry":"Retail","employees":null}', cost: 2 },
    ]);
    const run = await runStructured(b, { model: 'auto', messages: [{ role: 'user', content: 'x' }] }, { name: 'lead', schema });
    expect(run).toEqual({ ok: true, data: { industry: 'Retail', employees: null }, text: '{"industry":"Retail","employees":null}', repaired: true, calls: [{ body: '{"industry":1}', cost: 1 }, { body: '{"industry":"Retail","employees":null}', cost: 2 }] });
    // No `model()`: the repair keeps the request's model.
    expect(b.sent[1]).toMatchObject({ model: 'auto' });
  });

  it('resolves with the problem instead of throwing, so each caller words its own error', async () => {
    const run = await runStructured(backend([{ body: 'no', cost: 1 }, { body: '[]', cost: 1 }]), { model: 'auto', messages: [{ role: 'user', content: 'x' }] }, { name: 'lead', schema });
    expect(run).toMatchObject({ ok: false, repair: 'failed', problem: 'does not match the schema: must be object' });
    expect(run.calls).toHaveLength(2);
  });
});

describe('mergeStories', () => {
  it('keeps a single story as it is', () => {
    const one = story('openai/gpt-4.1-mini');
    expect(mergeStories([one])).toBe(one);
  });

  it('says cached only when every call was', () => {
    const cached = { ...story('a/b'), cached: true };
    expect(mergeStories([cached, { ...cached }]).cached).toBe(true);
    expect(mergeStories([cached, story('a/b')]).cached).toBe(false);
    expect(() => mergeStories([])).toThrow(/at least one/);
  });
});
