/**
 * The tasks on a real Switchyard (createSwitchyard, the OpenAI adapter and catalog, real costs);
 * only the network is replaced, by nock with OpenAI's documented payloads.
 */
import nock from 'nock';
import { closeUpstreamPools } from '../../../src/core/http';
import { createSwitchyard, type RoutingSwitchyard } from '../../../src/core/routing/switchyard';
import { StructuredOutputError, classifyText, completeStructured, extractData } from '../../../src/core/tasks';
import { fixtureJson } from '../../helpers/fixtures';

const OPENAI = 'https://api.openai.test/v1';
const KEY = 'sk-test-tasks-abcdef123456';

type Body = { messages: Array<{ role: string; content: string }>; response_format?: unknown; model: string };

function answer(content: string) {
  const body = fixtureJson<{ choices: Array<{ message: { content: string | null } }> }>('openai/chat-basic.json');
  body.choices[0]!.message.content = content;
  return body;
}

let sy: RoutingSwitchyard;
const bodies: Body[] = [];

function reply(...contents: string[]) {
  const scope = nock(OPENAI);
  for (const content of contents) {
    scope.post('/chat/completions', (b: Body) => (bodies.push(b), true)).reply(200, answer(content));
  }
  return scope;
}

beforeAll(() => nock.disableNetConnect());
beforeEach(() => {
  bodies.length = 0;
  sy = createSwitchyard({ providers: { openai: { type: 'openai', api_key: KEY, base_url: OPENAI } }, routing: { retries_per_model: 0 } }, { env: {} });
});
afterEach(async () => {
  nock.cleanAll();
  await sy.close();
});
afterAll(async () => {
  nock.enableNetConnect();
  await closeUpstreamPools();
});

describe('tasks through createSwitchyard', () => {
  it('extract: invalid JSON, one repair, the summed story with real costs', async () => {
    const scope = reply('Sure! {"company": ', '{"company":"Acme Corp","employees":40}');
    const result = await extractData(sy, {
      text: 'Dana from Acme Corp (40 people)',
      fields: [{ name: 'company', required: true }, { name: 'employees', type: 'integer' }],
      model: 'openai/gpt-4.1-mini',
    });
    scope.done();
    expect(result).toMatchObject({ data: { company: 'Acme Corp', employees: 40 }, repaired: true });
    expect(bodies).toHaveLength(2);
    expect(bodies[0]).toMatchObject({ model: 'gpt-4.1-mini', response_format: { type: 'json_schema', json_schema: { name: 'extracted_fields', strict: true } } });
    expect(bodies[1]?.messages.at(-2)).toEqual({ role: 'assistant', content: 'Sure! {"company": ' });
    const [first, second] = result.stories;
    expect(first!.costUsd).toBeGreaterThan(0);
    expect(result.story.costUsd).toBeCloseTo(first!.costUsd + second!.costUsd, 9);
    expect(result.story.attempts).toHaveLength(2);
    expect(result.story.usage?.total_tokens).toBe((first!.usage?.total_tokens ?? 0) + (second!.usage?.total_tokens ?? 0));
    expect(result.story).toMatchObject({ model: 'openai/gpt-4.1-mini', provider: 'openai', requestedModel: 'openai/gpt-4.1-mini' });
  });

  it('classify: one of the labels, with its confidence', async () => {
    reply('{"label":"Billing","confidence":0.87}');
    const result = await classifyText(sy, { text: 'Charged twice', labels: [{ name: 'billing' }, { name: 'bug' }], model: 'openai/gpt-4.1-mini' });
    expect(result.data).toEqual({ label: 'billing', confidence: 0.87 });
    expect(bodies[0]?.response_format).toMatchObject({ json_schema: { schema: { properties: { label: { enum: ['billing', 'bug'] } } } } });
  });

  it('a second invalid answer is a 502 and no third call is made', async () => {
    reply('no', 'still no');
    const err = await completeStructured(sy, { prompt: 'x', name: 'r', schema: { type: 'object' }, model: 'openai/gpt-4.1-mini' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(StructuredOutputError);
    expect(err).toMatchObject({ status: 502, code: 'invalid_model_output' });
    expect(bodies).toHaveLength(2);
    expect(nock.pendingMocks()).toEqual([]);
  });
});
