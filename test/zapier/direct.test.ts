/**
 * The Zapier app in Direct mode, run by Zapier's own runtime (createAppTester): the embedded
 * routing core calls the providers, answered here by nock with their documented payloads.
 */
import nock from 'nock';
import { fixtureJson } from '../helpers/fixtures';
import {
  ANTHROPIC,
  App,
  GEMINI,
  KEYS,
  OPENAI,
  anthropicAnswer,
  appTester,
  directAuth,
  expectNoSecret,
  openaiAnswer,
  rejection,
  resetNetwork,
  undoZapierHttpPatchAfterAll,
  zapierErrorPayload,
} from './helpers';
import { authentication } from '../../connectors/zapier/src/authentication';

const { generate_text, extract_data, classify_text, summarize } = App.creates;

undoZapierHttpPatchAfterAll();
beforeEach(resetNetwork);
afterAll(() => {
  nock.cleanAll();
  nock.enableNetConnect();
});

type Body = Record<string, unknown> & { messages: Array<{ role: string; content: string }> };

/** Records every JSON body a nock interceptor received. */
function recorder(): { bodies: Body[]; match: (body: Body) => boolean } {
  const bodies: Body[] = [];
  return {
    bodies,
    match: (body: Body) => {
      bodies.push(body);
      return true;
    },
  };
}

const openaiAndAnthropic = directAuth({ openai: KEYS.openai, anthropic: KEYS.anthropic });

describe('Generate Text', () => {
  test('sends the prompt, system message and limits to the pinned model and reports the route', async () => {
    const seen = recorder();
    const scope = nock(OPENAI, { reqheaders: { authorization: `Bearer ${KEYS.openai}` } })
      .post('/v1/chat/completions', seen.match)
      .reply(200, openaiAnswer('Hi Dana, your order shipped.'));

    const result = await appTester(generate_text.operation.perform, {
      authData: openaiAndAnthropic,
      inputData: {
        prompt: 'Write a reply to Dana',
        system_message: 'You are our support team.',
        model: 'openai/gpt-4.1-mini',
        max_tokens: '200',
        temperature: 0.2,
      },
    });

    scope.done();
    const body = seen.bodies[0]!;
    expect(body.model).toBe('gpt-4.1-mini');
    expect(body.messages).toEqual([
      { role: 'system', content: 'You are our support team.' },
      { role: 'user', content: 'Write a reply to Dana' },
    ]);
    expect(body.temperature).toBe(0.2);
    expect(body.max_tokens ?? body.max_completion_tokens).toBe(200);
    expect(body).not.toHaveProperty('routing');
    expect(result).toMatchObject({
      text: 'Hi Dana, your order shipped.',
      finish_reason: 'stop',
      model: 'openai/gpt-4.1-mini',
      provider: 'openai',
      attempts: 1,
      cached: false,
      prompt_tokens: 12,
      completion_tokens: 9,
    });
    expect(result.cost_usd).toBeGreaterThan(0);
    expect(result.latency_ms).toBeGreaterThanOrEqual(0);
    expect(result.attempt_log).toMatch(/^openai\/gpt-4\.1-mini: ok/);
    // Why this model: the router's own sentence, as n8n's items carry it.
    expect(result.why_this_model).toMatch(/openai\/gpt-4\.1-mini/);
  });

  test('Auto routes among the configured providers only', async () => {
    const scope = nock(ANTHROPIC).post('/v1/messages').reply(200, anthropicAnswer('Hello from Claude'));
    const result = await appTester(generate_text.operation.perform, {
      authData: directAuth({ anthropic: KEYS.anthropic }),
      inputData: { prompt: 'Say hello', model: 'auto:cost' },
    });
    scope.done();
    expect(result).toMatchObject({ text: 'Hello from Claude', provider: 'anthropic' });
    expect(result.model).toMatch(/^anthropic\//);
    expect(result.why_this_model).toMatch(new RegExp(`^Cheapest model.*${String(result.model)}`));
  });

  test('falls back to the next model when the first answers 429', async () => {
    const openai = nock(OPENAI)
      .post('/v1/chat/completions')
      .reply(429, fixtureJson('openai/error-429.json'), { 'retry-after': '20' });
    const anthropic = nock(ANTHROPIC).post('/v1/messages').reply(200, anthropicAnswer('Fallback answer'));

    const result = await appTester(generate_text.operation.perform, {
      authData: openaiAndAnthropic,
      inputData: { prompt: 'Say hello', model: 'openai/gpt-4.1-mini', fallback_models: ['anthropic/claude-haiku-4-5'] },
    });

    openai.done();
    anthropic.done();
    expect(result).toMatchObject({ text: 'Fallback answer', model: 'anthropic/claude-haiku-4-5', provider: 'anthropic', attempts: 2 });
    expect(result.attempt_log).toMatch(/openai\/gpt-4\.1-mini: rate_limited \(429.*anthropic\/claude-haiku-4-5: ok/);
  });

  test('falls back to the next model when the first keeps answering 500', async () => {
    nock(OPENAI).post('/v1/chat/completions').times(2).reply(500, fixtureJson('openai/error-500.json'));
    const anthropic = nock(ANTHROPIC).post('/v1/messages').reply(200, anthropicAnswer('Still answered'));

    const result = await appTester(generate_text.operation.perform, {
      authData: openaiAndAnthropic,
      inputData: { prompt: 'Say hello', model: 'openai/gpt-4.1-mini', fallback_models: 'anthropic/claude-haiku-4-5' },
    });

    anthropic.done();
    expect(result).toMatchObject({ text: 'Still answered', provider: 'anthropic' });
    expect(result.attempts).toBeGreaterThanOrEqual(2);
    expect(result.attempt_log).toMatch(/openai\/gpt-4\.1-mini: upstream_error \(500/);
  });

  test('every provider rate limited: ThrottledError with the Retry-After delay', async () => {
    nock(OPENAI).post('/v1/chat/completions').reply(429, fixtureJson('openai/error-429.json'), { 'retry-after': '20' });
    nock(ANTHROPIC).post('/v1/messages').reply(429, fixtureJson('anthropic/error-429.json'), { 'retry-after': '30' });

    const err = await rejection(
      appTester(generate_text.operation.perform, {
        authData: openaiAndAnthropic,
        inputData: { prompt: 'Say hello', model: 'openai/gpt-4.1-mini', fallback_models: ['anthropic/claude-haiku-4-5'] },
      }),
    );

    const payload = zapierErrorPayload(err);
    expect(payload.name).toBe('ThrottledError');
    expect(payload.delay).toBe(30);
    expect(payload.message).toMatch(/rate limit/i);
    expectNoSecret(payload.message);
  });

  test('a rejected key: the message names the connection field and where to get a key, never the key', async () => {
    // Upstream messages can echo the key; the step's error must not.
    const echoing = { error: { ...fixtureJson<{ error: object }>('openai/error-401.json').error, message: `Incorrect API key provided: ${KEYS.openai}.` } };
    nock(OPENAI).post('/v1/chat/completions').reply(401, echoing);

    const err = await rejection(
      appTester(generate_text.operation.perform, {
        authData: directAuth({ openai: KEYS.openai }),
        inputData: { prompt: 'Say hello', model: 'openai/gpt-4.1-mini' },
      }),
    );

    const payload = zapierErrorPayload(err);
    expect(payload.name).toBe('AppError');
    expect(payload.code).toBe('provider_auth');
    expect(payload.message).toContain('"OpenAI API Key"');
    expect(payload.message).toContain('https://platform.openai.com/api-keys');
    expectNoSecret(payload.message);
  });

  test('a provider account out of credit (OpenAI 429 insufficient_quota): billing advice naming the provider, not a retry nor a key budget', async () => {
    // OpenAI's documented body for an exhausted quota: a 429 that waiting does not clear.
    const quota = { error: { message: 'You exceeded your current quota, please check your plan and billing details.', type: 'insufficient_quota', param: null, code: 'insufficient_quota' } };
    nock(OPENAI).post('/v1/chat/completions').times(3).reply(429, quota);

    const err = await rejection(
      appTester(generate_text.operation.perform, { authData: directAuth({ openai: KEYS.openai }), inputData: { prompt: 'Say hello', model: 'openai/gpt-4.1-mini' } }),
    );

    const payload = zapierErrorPayload(err);
    expect(payload).toMatchObject({ name: 'AppError', code: 'insufficient_quota', status: 429 });
    expect(payload.message).toMatch(/^OpenAI reports that its account is out of credit or over its usage quota \(openai: You exceeded your current quota/);
    expect(payload.message).toContain('billing settings of the OpenAI account behind the key in "OpenAI API Key"');
    expect(payload.message).not.toMatch(/Switchyard server|budget/i);
    expectNoSecret(payload.message);
  });

  test('two rejected keys are both named', async () => {
    nock(OPENAI).post('/v1/chat/completions').reply(401, fixtureJson('openai/error-401.json'));
    nock(ANTHROPIC).post('/v1/messages').reply(401, fixtureJson('anthropic/error-401.json'));

    const err = await rejection(
      appTester(generate_text.operation.perform, {
        authData: openaiAndAnthropic,
        inputData: { prompt: 'Say hello', model: 'openai/gpt-4.1-mini', fallback_models: ['anthropic/claude-haiku-4-5'] },
      }),
    );

    const { message } = zapierErrorPayload(err);
    expect(message).toContain('"OpenAI API Key"');
    expect(message).toContain('"Anthropic API Key"');
    expectNoSecret(message);
  });

  test.each([
    [{ prompt: 'Hi', temperature: '5' }, /"Temperature" must be between 0 and 2/],
    [{ prompt: 'Hi', max_tokens: '1.5' }, /"Max Tokens" must be a whole number/],
    [{ prompt: 'Hi', max_tokens: 'abc' }, /^Field "Max Tokens" must be a whole number, e\.g\. 500\.$/],
    [{ prompt: 'Hi', temperature: 'warm' }, /^Field "Temperature" must be a number between 0 and 2, e\.g\. 0\.7\.$/],
    [{ prompt: '' }, /"Prompt" is required/],
    [{ prompt: 'Hi', prefer: 'cheapest' }, /"Prefer"/],
  ])('invalid input %j fails before any call with a message naming the field', async (inputData, expected) => {
    const err = await rejection(appTester(generate_text.operation.perform, { authData: directAuth({ openai: KEYS.openai }), inputData }));
    const payload = zapierErrorPayload(err);
    expect(payload.name).toBe('AppError');
    expect(payload.message).toMatch(expected);
    expect(nock.pendingMocks()).toEqual([]);
  });

  test('an unknown model names the dropdown as the fix', async () => {
    const err = await rejection(
      appTester(generate_text.operation.perform, {
        authData: directAuth({ openai: KEYS.openai }),
        inputData: { prompt: 'Hi', model: 'anthropic/claude-haiku-4-5' },
      }),
    );
    const payload = zapierErrorPayload(err);
    expect(payload.message).toMatch(/Model dropdown/);
    expect(payload.message).toMatch(/^Unknown model 'anthropic\/claude-haiku-4-5': no configured provider offers it\. Pick a model/);
    expect(payload.message).not.toContain('..');
  });

  test('a connection without any key says which fields to fill in', async () => {
    const err = await rejection(appTester(generate_text.operation.perform, { authData: { mode: 'direct', openai_api_key: ' ' }, inputData: { prompt: 'Hi' } }));
    expect(zapierErrorPayload(err).message).toMatch(/at least one provider key.*"OpenAI API Key".*"Groq API Key"/);
  });
});

describe('Extract Data', () => {
  const fields = ['Company', 'Job title', 'Budget: yearly budget in USD, digits only'];

  test('asks for a strict JSON schema and returns one output per requested field', async () => {
    const seen = recorder();
    nock(OPENAI)
      .post('/v1/chat/completions', seen.match)
      .reply(200, openaiAnswer(JSON.stringify({ company: 'Acme Corp', job_title: 'Head of Marketing', budget: null })));

    const result = await appTester(extract_data.operation.perform, {
      authData: openaiAndAnthropic,
      inputData: { text: 'Hi, I am Dana, Head of Marketing at Acme Corp.', fields, model: 'openai/gpt-4.1-mini' },
    });

    expect(result).toMatchObject({ company: 'Acme Corp', job_title: 'Head of Marketing', budget: null, repaired: false, attempts: 1, model: 'openai/gpt-4.1-mini' });
    const format = seen.bodies[0]!.response_format as { type: string; json_schema: { strict: boolean; schema: { required: string[]; additionalProperties: boolean } } };
    expect(format.type).toBe('json_schema');
    expect(format.json_schema.strict).toBe(true);
    expect(format.json_schema.schema.required).toEqual(['company', 'job_title', 'budget']);
    expect(format.json_schema.schema.additionalProperties).toBe(false);
    expect(seen.bodies[0]!.messages[1]!.content).toContain('Hi, I am Dana');
  });

  test('an answer that misses the schema gets exactly one repair call', async () => {
    const seen = recorder();
    nock(OPENAI)
      .post('/v1/chat/completions', seen.match)
      .reply(200, openaiAnswer('{"company": "Acme Corp"}'))
      .post('/v1/chat/completions', seen.match)
      .reply(200, openaiAnswer('```json\n{"company": "Acme Corp", "job_title": null, "budget": "25000"}\n```'));

    const result = await appTester(extract_data.operation.perform, {
      authData: openaiAndAnthropic,
      inputData: { text: 'Acme Corp, budget 25k', fields, model: 'openai/gpt-4.1-mini' },
    });

    expect(result).toMatchObject({ company: 'Acme Corp', job_title: null, budget: '25000', repaired: true, attempts: 2 });
    expect(result.why_this_model).toMatch(/openai\/gpt-4\.1-mini/);
    expect(seen.bodies).toHaveLength(2);
    const repair = seen.bodies[1]!.messages;
    expect(repair[repair.length - 2]).toEqual({ role: 'assistant', content: '{"company": "Acme Corp"}' });
    expect(repair[repair.length - 1]!.content).toMatch(/does not match the schema: job_title is missing; budget is missing/);
  });

  test('a second invalid answer fails the step without a third call', async () => {
    const seen = recorder();
    nock(OPENAI).post('/v1/chat/completions', seen.match).times(2).reply(200, openaiAnswer('I could not find anything.'));

    const err = await rejection(
      appTester(extract_data.operation.perform, {
        authData: openaiAndAnthropic,
        inputData: { text: 'Nothing here', fields: ['company'], model: 'openai/gpt-4.1-mini' },
      }),
    );

    expect(seen.bodies).toHaveLength(2);
    const payload = zapierErrorPayload(err);
    expect(payload.code).toBe('invalid_model_output');
    expect(payload.message).toMatch(/after one repair attempt/);
  });

  test('field names that clash with the outputs, or repeat, are refused', async () => {
    for (const [list, expected] of [
      [['company', 'Company'], /listed twice/],
      [['model'], /clashes with an output/],
      [[], /"Fields to Extract" is required/],
    ] as const) {
      const err = await rejection(appTester(extract_data.operation.perform, { authData: openaiAndAnthropic, inputData: { text: 'x', fields: list } }));
      expect(zapierErrorPayload(err).message).toMatch(expected);
    }
  });

  test('dynamic output fields: one per requested field, labelled as typed', async () => {
    const dynamic = extract_data.operation.outputFields[0] as (z: unknown, bundle: unknown) => Promise<unknown>;
    const outputs = await appTester(dynamic as never, { authData: openaiAndAnthropic, inputData: { fields } });
    expect(outputs).toEqual([
      { key: 'company', label: 'Company', type: 'string' },
      { key: 'job_title', label: 'Job title', type: 'string' },
      { key: 'budget', label: 'Budget', type: 'string' },
    ]);
  });
});

describe('Classify Text', () => {
  test('returns one of the labels, spelled as given, with the confidence', async () => {
    const seen = recorder();
    nock(OPENAI)
      .post('/v1/chat/completions', seen.match)
      .reply(200, openaiAnswer(JSON.stringify({ label: 'BILLING', confidence: 0.87 })));

    const result = await appTester(classify_text.operation.perform, {
      authData: openaiAndAnthropic,
      inputData: { text: 'I was charged twice this month', labels: ['billing', 'bug report', 'other'], model: 'openai/gpt-4.1-mini' },
    });

    expect(result).toMatchObject({ label: 'billing', confidence: 0.87, repaired: false, provider: 'openai' });
    const schema = (seen.bodies[0]!.response_format as { json_schema: { schema: { properties: { label: { enum: string[] } } } } }).json_schema.schema;
    expect(schema.properties.label.enum).toEqual(['billing', 'bug report', 'other']);
  });

  test('a label outside the list is repaired once', async () => {
    nock(OPENAI)
      .post('/v1/chat/completions')
      .reply(200, openaiAnswer('{"label": "refund", "confidence": 0.6}'))
      .post('/v1/chat/completions')
      .reply(200, openaiAnswer('{"label": "billing", "confidence": 0.6}'));

    const result = await appTester(classify_text.operation.perform, {
      authData: openaiAndAnthropic,
      inputData: { text: 'Refund please', labels: 'billing, other', model: 'openai/gpt-4.1-mini' },
    });
    expect(result).toMatchObject({ label: 'billing', repaired: true, attempts: 2 });
  });

  test('needs at least two labels', async () => {
    const err = await rejection(appTester(classify_text.operation.perform, { authData: openaiAndAnthropic, inputData: { text: 'x', labels: ['only'] } }));
    expect(zapierErrorPayload(err).message).toMatch(/"Labels" needs at least two labels/);
  });
});

describe('Summarize', () => {
  test('asks for the chosen style and length and returns the summary', async () => {
    const seen = recorder();
    nock(ANTHROPIC)
      .post('/v1/messages', seen.match)
      .reply(200, anthropicAnswer('- Kickoff moves to Tuesday\n- Revised quote due Friday'));

    const result = await appTester(summarize.operation.perform, {
      authData: openaiAndAnthropic,
      inputData: { text: 'Long email thread...', style: 'bullets', length: 'short', language: 'English', model: 'anthropic/claude-haiku-4-5' },
    });

    expect(result).toMatchObject({ summary: '- Kickoff moves to Tuesday\n- Revised quote due Friday', provider: 'anthropic', model: 'anthropic/claude-haiku-4-5' });
    const body = seen.bodies[0]!;
    expect(JSON.stringify(body.system)).toMatch(/bulleted list.*about 50 words.*Write in English/);
    expect(body.max_tokens).toBe(300);
  });
});

describe('Model dropdown (hidden trigger)', () => {
  test('offers the Auto variants, then the models of the configured providers only', async () => {
    const choices = (await appTester(App.triggers.models.operation.perform, { authData: openaiAndAnthropic })) as Array<{ id: string; name: string }>;
    const ids = choices.map((c) => c.id);
    expect(ids.slice(0, 4)).toEqual(['auto', 'auto:cost', 'auto:latency', 'auto:quality']);
    expect(ids).toContain('openai/gpt-4.1-mini');
    expect(ids).toContain('anthropic/claude-haiku-4-5');
    expect(ids.some((id) => id.startsWith('gemini/') || id.startsWith('groq/'))).toBe(false);
  });
});

describe('Connection test (Direct)', () => {

  test('lists each provider’s models with its key and labels the connection', async () => {
    const openai = nock(OPENAI, { reqheaders: { authorization: `Bearer ${KEYS.openai}` } })
      .get('/v1/models')
      .reply(200, { object: 'list', data: [{ id: 'gpt-4.1-mini', object: 'model', created: 1744316542, owned_by: 'system' }] });
    // Gemini pages its model list: both documented pages are served.
    const gemini = nock(GEMINI, { reqheaders: { 'x-goog-api-key': KEYS.gemini } })
      .get('/v1beta/models')
      .query((q) => !q.pageToken)
      .reply(200, fixtureJson('gemini/models.json'))
      .get('/v1beta/models')
      .query((q) => typeof q.pageToken === 'string')
      .reply(200, fixtureJson('gemini/models-page-2.json'));

    const result = (await appTester(authentication.test, { authData: directAuth({ openai: KEYS.openai, gemini: KEYS.gemini }) })) as { label: string; providers: string[] };
    openai.done();
    gemini.done();
    expect(result.providers).toEqual(['openai', 'gemini']);
    const label = await appTester(authentication.connectionLabel, { inputData: result });
    expect(label).toBe('Direct: OpenAI, Google Gemini');
  });

  test('a rejected key fails the test, naming the field, without the key', async () => {
    nock(OPENAI).get('/v1/models').reply(200, { object: 'list', data: [] });
    nock(ANTHROPIC).get('/v1/models').query(true).reply(401, fixtureJson('anthropic/error-401.json'));
    nock(GEMINI).get('/v1beta/models').query(true).reply(400, fixtureJson('gemini/error-400-api-key-invalid.json'));

    const err = await rejection(appTester(authentication.test, { authData: directAuth({ openai: KEYS.openai, anthropic: KEYS.anthropic, gemini: KEYS.gemini }) }));
    const payload = zapierErrorPayload(err);
    expect(payload.message).toContain('"Anthropic API Key": Anthropic rejected the key (401)');
    expect(payload.message).toContain('"Google Gemini API Key": Google Gemini rejected the key');
    expect(payload.message).not.toContain('"OpenAI API Key"');
    expectNoSecret(payload.message);
  });
});
