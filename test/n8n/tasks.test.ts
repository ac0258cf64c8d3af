/**
 * The tasks bundle's entry (core/switchyard-tasks.ts) against its contract, and the node's
 * Extract/Classify path over it: n8n's Completion shape, one repair call, routes added up.
 */
import * as facade from '../../connectors/n8n/core/switchyard-tasks';
import type * as Contract from '../../connectors/n8n/vendor/switchyard-tasks';
import type { CallSettings } from '../../connectors/n8n/nodes/shared/client';
import { buildClassifyCall, buildExtractCall, combineRoutes, toCompletion, type ChatBody, type Completion } from '../../connectors/n8n/nodes/shared/mapping';
import { invalidReplyText, MIN_REPAIR_MS, structuredBackend, structuredCall } from '../../connectors/n8n/nodes/shared/structured';
import { fixtureJson } from '../helpers/fixtures';

// Compile-time check: the bundle's entry implements the contract the node sources are typed against.
const implementsContract: typeof Contract = facade;

interface Reply {
  content: string;
  /** The route the gateway reports (its `switchyard` object); none for a plain OpenAI-compatible server. */
  route?: { model: string; provider: string } | null;
  /** Milliseconds the call takes on the test's clock. */
  takesMs?: number;
}

/**
 * A node client answering with gateway-shaped bodies (the `switchyard` route object), recording each
 * request and its settings; the node's own backend (shared/structured.ts) sits on top of it.
 */
function client(replies: Array<string | Reply>) {
  const sent: ChatBody[] = [];
  const settings: CallSettings[] = [];
  const nodeClient = {
    async chat(request: ChatBody, callSettings: CallSettings = {}) {
      sent.push(request);
      settings.push(callSettings);
      const next = replies.shift() ?? '';
      const reply: Reply = typeof next === 'string' ? { content: next } : next;
      if (reply.takesMs) jest.setSystemTime(Date.now() + reply.takesMs);
      const body = fixtureJson<Record<string, unknown> & { choices: Array<{ message: { content: string } }> }>('openai/chat-basic.json');
      body.choices[0]!.message.content = reply.content;
      const route = reply.route === undefined ? { model: 'openai/gpt-4.1-mini', provider: 'openai' } : reply.route;
      if (route) body.switchyard = { ...route, cost_usd: 0.00001, latency_ms: 40, attempts: [{ outcome: 'ok' }], cached: false };
      return toCompletion(body, {}, 40);
    },
  };
  const backend: Contract.StructuredBackend<Completion> = structuredBackend(nodeClient, {});
  return { backend, nodeClient, sent, settings };
}

const FIELDS = [
  { name: 'name', type: 'string' as const, required: true },
  { name: 'employees', type: 'integer' as const },
];

describe('n8n tasks bundle entry', () => {
  it('extract: a reply that misses a field gets one repair with the reason; both calls add up in the route', async () => {
    const call = buildExtractCall({ text: 'Ada, 12 people', fields: FIELDS, model: 'auto', options: { prefer: 'cost' } }, implementsContract);
    const { backend, sent } = client(['```json\n{"name":"Ada"}\n```', '{"name":"Ada","employees":12}']);
    const run = await facade.runStructured(backend, call.body, call.spec);
    if (!run.ok) throw new Error(run.problem);
    expect(run.data).toEqual({ name: 'Ada', employees: 12 });
    expect(run.repaired).toBe(true);
    expect(sent[0]).toMatchObject({ model: 'auto', routing: { prefer: 'cost' }, response_format: { type: 'json_schema', json_schema: { name: 'extracted_fields', strict: true, schema: call.spec.schema } } });
    expect(sent[1]?.messages.slice(-2)).toEqual([
      { role: 'assistant', content: '```json\n{"name":"Ada"}\n```' },
      { role: 'user', content: expect.stringMatching(/^Your answer does not match the schema: employees is missing\./) },
    ]);
    // The repair goes to the model that answered (it sees its own reply), not through Auto again.
    expect(sent[1]?.model).toBe('openai/gpt-4.1-mini');
    expect(sent[1]?.routing).toEqual({ prefer: 'cost' });
    expect(combineRoutes(run.calls.map((c) => c.route))).toMatchObject({ cost_usd: 0.00002, latency_ms: 80, attempts: 2 });
  });

  it('classify: the label as the user spelled it; a label outside the list twice is a failure with the reason', async () => {
    const labels = [{ name: 'complaint' }, { name: 'question' }];
    const call = buildClassifyCall({ text: 'Where is my parcel?', labels, options: {} }, facade);
    const ok = await facade.runStructured(client(['{"label":"Question","confidence":0.8}']).backend, call.body, call.spec);
    expect(ok).toMatchObject({ ok: true, data: { label: 'question', confidence: 0.8 }, repaired: false });

    const bad = await facade.runStructured(client(['{"label":"spam","confidence":0.8}', '{"label":"spam","confidence":0.9}']).backend, call.body, call.spec);
    expect(bad).toMatchObject({ ok: false, repair: 'failed', problem: 'has a label that is not in the list: label must be one of "complaint", "question" (got "spam")' });
    expect(bad.calls).toHaveLength(2);
  });

  it('reports the first problem of a definition list with its path', () => {
    expect(facade.checkFields([{ name: 'a', type: 'object' }])).toEqual({ ok: false, issue: { path: [0, 'fields'], message: 'is needed: an object field lists its own fields' } });
    expect(facade.checkLabels([{ name: 'a' }, { name: 'b', description: 'B' }])).toEqual({ ok: true, value: [{ name: 'a' }, { name: 'b', description: 'B' }] });
  });
});

describe('Extract/Classify in the node: repair target and the item Timeout', () => {
  const ADA = 'Ada, 12 people';
  const call = () => buildExtractCall({ text: ADA, fields: FIELDS, model: 'auto', options: {} }, facade);

  beforeEach(() => jest.useFakeTimers({ now: new Date('2026-11-23T12:00:00Z'), doNotFake: ['nextTick', 'setImmediate', 'queueMicrotask'] }));
  afterEach(() => jest.useRealTimers());

  it('with Auto, the repair is pinned to the model that answered; a server that reports no route gets the request as it was', async () => {
    const routed = client([
      { content: '{"name":"Ada"}', route: { model: 'anthropic/claude-haiku-4-5', provider: 'anthropic' } },
      { content: '{"name":"Ada","employees":12}', route: { model: 'anthropic/claude-haiku-4-5', provider: 'anthropic' } },
    ]);
    const result = await structuredCall(facade, routed.nodeClient, call(), {});
    expect(result).toMatchObject({ ok: true, repaired: true, route: { model: 'anthropic/claude-haiku-4-5', attempts: 2 } });
    expect(routed.sent.map((r) => r.model)).toEqual(['auto', 'anthropic/claude-haiku-4-5']);

    const plain = client([
      { content: '{"name":"Ada"}', route: null },
      { content: '{"name":"Ada","employees":12}', route: null },
    ]);
    expect(await structuredCall(facade, plain.nodeClient, call(), {})).toMatchObject({ ok: true, repaired: true });
    expect(plain.sent.map((r) => r.model)).toEqual(['auto', 'auto']);
  });

  it('the Timeout covers the whole item: the repair gets only what the first call left', async () => {
    const { nodeClient, settings } = client([
      { content: '{"name":"Ada"}', takesMs: 3_000 },
      { content: '{"name":"Ada","employees":12}' },
    ]);
    const signal = new AbortController().signal;
    const result = await structuredCall(facade, nodeClient, call(), { timeoutMs: 5_000, signal });
    expect(result).toMatchObject({ ok: true, repaired: true });
    expect(settings).toEqual([
      { timeoutMs: 5_000, signal },
      { timeoutMs: 2_000, signal },
    ]);
  });

  it('no repair is started when too little of the Timeout is left; the message says so, not "twice"', async () => {
    const { nodeClient, sent } = client([{ content: '{"name":"Ada"}', takesMs: 5_000 - MIN_REPAIR_MS + 1 }]);
    const result = await structuredCall(facade, nodeClient, call(), { timeoutMs: 5_000 });
    expect(sent).toHaveLength(1);
    if (result.ok) throw new Error('expected an unusable reply');
    expect(result.repair).toBe('no_time');
    const text = invalidReplyText(result);
    expect(text.message).toBe('The model openai/gpt-4.1-mini returned an unusable reply: the reply does not match the schema: employees is missing');
    expect(text.description).toMatch(/^Too little of the Timeout was left to ask the model again\. Raise the Timeout option/);
  });

  it('an invalid reply twice keeps its message', async () => {
    const { nodeClient } = client(['{"name":"Ada"}', '{"name":"Ada"}']);
    const result = await structuredCall(facade, nodeClient, call(), {});
    if (result.ok) throw new Error('expected an unusable reply');
    expect(invalidReplyText(result).message).toBe('The model openai/gpt-4.1-mini returned an unusable reply twice: the reply does not match the schema: employees is missing');
  });
});
