/**
 * The tasks bundle's entry (core/switchyard-tasks.ts) against its contract, and the node's
 * Extract/Classify path over it: n8n's Completion shape, one repair call, routes added up.
 */
import * as facade from '../../connectors/n8n/core/switchyard-tasks';
import type * as Contract from '../../connectors/n8n/vendor/switchyard-tasks';
import { buildClassifyCall, buildExtractCall, combineRoutes, toCompletion, type ChatBody, type Completion } from '../../connectors/n8n/nodes/shared/mapping';
import { fixtureJson } from '../helpers/fixtures';

// Compile-time check: the bundle's entry implements the contract the node sources are typed against.
const implementsContract: typeof Contract = facade;

/** A node client answering with gateway-shaped bodies (the `switchyard` route object), recording each request. */
function client(replies: string[]) {
  const sent: ChatBody[] = [];
  const backend: Contract.StructuredBackend<Completion> = {
    async chat(request) {
      sent.push(request as ChatBody);
      const body = fixtureJson<Record<string, unknown> & { choices: Array<{ message: { content: string } }> }>('openai/chat-basic.json');
      body.choices[0]!.message.content = replies.shift() ?? '';
      body.switchyard = { model: 'openai/gpt-4.1-mini', provider: 'openai', cost_usd: 0.00001, latency_ms: 40, attempts: [{ outcome: 'ok' }], cached: false };
      return toCompletion(body, {}, 40);
    },
    text: (completion) => completion.text,
  };
  return { backend, sent };
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
    expect(sent[1]?.model).toBe('auto');
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
