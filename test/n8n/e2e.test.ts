/**
 * The n8n package inside a real n8n (pinned 2.41.1, Node 24), headless: the packed package installed
 * as n8n installs community nodes, credentials and workflows imported, `n8n execute` run.
 * (1) Direct mode: the embedded routing core calls an OpenAI-compatible emulator on 127.0.0.1.
 * (2) Gateway-server mode: `node dist/cli/main.js serve` in front of the same emulator, with a gateway key
 *     in its store (so every request needs one): the credential's key succeeds, a wrong one fails readably.
 * n8n is installed by .ci/run (test/n8n/install-n8n.sh); under CI a missing install fails this suite.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { assertOpenAIResponse, assertOpenAIChunk } from '../helpers/openai-schema';
import { ECHOED_KEY, startEmulator, RATE_LIMITED_MODEL, type Emulator } from './emulator';
import { itemsOf, missingPrerequisite, PACKAGE_DIR, startGateway, startN8n, type N8nInstance, type RunningGateway } from './harness';
import {
  AGENT_TEMPERATURE,
  CACHED_PROMPT,
  EXPRESSION_MAX_TOKENS,
  EXPRESSION_TEMPERATURE,
  agentWorkflow,
  credentials,
  DIRECT_CREDENTIAL_ID,
  ECHOED_KEY_CREDENTIAL_ID,
  GATEWAY_CREDENTIAL_ID,
  LABELS,
  operationsWorkflow,
  SAMPLE_TEXTS,
  WRONG_GATEWAY_KEY,
  WRONG_KEY_CREDENTIAL_ID,
} from './workflows';

const missing = missingPrerequisite();
const required = process.env.SWITCHYARD_N8N_E2E === 'required' || process.env.CI === 'true' || process.env.CI === '1';
const suite = missing && !required ? describe.skip : describe;

if (missing && !required) {
  console.warn(`n8n e2e skipped outside CI: ${missing}`);
}

jest.setTimeout(9 * 60_000);

const EXAMPLES = ['whatsapp-reply.json', 'crm-enrichment.json'].map(
  (f) => JSON.parse(readFileSync(join(PACKAGE_DIR, 'examples', f), 'utf8')) as { id: string; nodes: Array<{ name: string; type: string; parameters: Record<string, unknown> }> },
);

suite('n8n community node in a real n8n', () => {
  let emulator: Emulator;
  let gateway: RunningGateway;
  let n8n: N8nInstance;

  beforeAll(async () => {
    if (missing) throw new Error(`n8n e2e cannot run: ${missing}`);
    emulator = await startEmulator({ validateResponse: assertOpenAIResponse, validateChunk: assertOpenAIChunk });
    gateway = await startGateway(`${emulator.url}/v1`);
    n8n = await startN8n();
    await n8n.importCredentials(credentials(emulator.url, gateway.url, gateway.apiKey, ECHOED_KEY));
    await n8n.importWorkflows([
      operationsWorkflow('syE2eDirectOps01', DIRECT_CREDENTIAL_ID, ECHOED_KEY_CREDENTIAL_ID),
      operationsWorkflow('syE2eGatewayOps1', GATEWAY_CREDENTIAL_ID, WRONG_KEY_CREDENTIAL_ID),
      agentWorkflow('syE2eDirectAgt01', DIRECT_CREDENTIAL_ID),
      agentWorkflow('syE2eGatewayAgt1', GATEWAY_CREDENTIAL_ID),
      ...EXAMPLES, // the shipped examples must import into a real n8n
    ]);
  });

  afterAll(async () => {
    await n8n?.dispose();
    await gateway?.stop();
    await emulator?.close();
  });

  function expectRoute(item: Record<string, unknown>) {
    expect(item.provider).toBe('openai');
    expect(String(item.model)).toMatch(/^openai\//);
    expect(typeof item.cost_usd).toBe('number');
    expect(item.cost_usd as number).toBeGreaterThan(0);
    expect(typeof item.latency_ms).toBe('number');
    expect(item.attempts as number).toBeGreaterThanOrEqual(1);
    expect(item.cached).toBe(false);
    expect(String(item.reason)).toContain(String(item.model));
  }

  function checkOperations(run: Awaited<ReturnType<N8nInstance['execute']>>) {
    if (!run.ok) throw new Error(`execution failed: ${JSON.stringify(run.result.data?.resultData?.error)}\n${run.log}`);
    const result = run.result;

    const chat = itemsOf(result, 'Chat');
    expect(chat).toHaveLength(2);
    chat.forEach((item, i) => {
      expect(item.text).toBe(`Echo: ${SAMPLE_TEXTS[i]}`);
      expectRoute(item);
      expect(item.attempts).toBe(1);
    });

    const extract = itemsOf(result, 'Extract');
    expect(extract.map((i) => i.fields)).toEqual([
      { name: 'Ada Lovelace', company: 'Analytical Engines Ltd', employees: 12, website: null },
      { name: 'Grace Hopper', company: 'US Navy', employees: null, website: null },
    ]);
    expect(extract.map((i) => i.repaired)).toEqual([false, true]);
    extract.forEach(expectRoute);
    expect(extract[1]?.attempts).toBe(2); // the invalid reply and its repair

    const classify = itemsOf(result, 'Classify');
    expect(classify.map((i) => [i.label, i.confidence])).toEqual([
      ['complaint', 0.9],
      ['question', 0.9],
    ]);
    classify.forEach((item) => {
      expectRoute(item);
      expect(item.model).toBe('openai/gpt-4.1-mini');
    });

    const fallback = itemsOf(result, 'Fallback');
    expect(fallback).toHaveLength(2);
    fallback.forEach((item, i) => {
      expect(item.text).toBe(`Echo: ${SAMPLE_TEXTS[i]}`);
      expect(item.model).toBe('openai/gpt-4.1-mini');
      expect(item.attempts as number).toBeGreaterThanOrEqual(2);
    });

    const failed = itemsOf(result, 'Unknown Model');
    expect(failed).toHaveLength(2);
    failed.forEach((item) => {
      expect(String(item.error)).toMatch(/nope\/not-a-model/);
      expect(String(item.description)).toMatch(/Model list|Auto/);
      expect(JSON.stringify(item)).not.toContain('sk-emulator-key');
    });

    // Slower than its Timeout option: a timeout with the same hint in both modes, never "cannot reach".
    const slow = itemsOf(result, 'Slow');
    expect(slow).toHaveLength(2);
    slow.forEach((item) => {
      expect(item.description).toBe('The providers did not answer in time: raise the Timeout option, or prefer latency.');
      expect(String(item.error)).not.toMatch(/Cannot reach|refused|aborted|offline/i);
    });

    // Expression results ("0.3", "123", "false") reached the request as a number and a boolean.
    const expressions = itemsOf(result, 'Expressions');
    expect(expressions.map((i) => i.text)).toEqual(SAMPLE_TEXTS.map((t) => `Echo: ${t}`));
    expressions.forEach((item) => expect(item.cached).toBe(false));

    // Cache Again asks what Cache First asked, in a later node execution: answered from the cache.
    expect(itemsOf(result, 'Cache First').map((i) => i.text)).toEqual([`Echo: ${CACHED_PROMPT}`, `Echo: ${CACHED_PROMPT}`]);
    const again = itemsOf(result, 'Cache Again');
    expect(again).toHaveLength(2);
    again.forEach((item) => {
      expect(item).toMatchObject({ text: `Echo: ${CACHED_PROMPT}`, cached: true, cost_usd: 0 });
    });
    return { slow };
  }

  /** The upstream requests the "Expressions" node caused, with its options as typed values. */
  function expectExpressionOptions(calls: Emulator['requests']) {
    const sent = calls.filter((r) => r.body.temperature === EXPRESSION_TEMPERATURE);
    expect(sent).toHaveLength(2);
    sent.forEach((r) => expect(r.body.max_tokens ?? r.body.max_completion_tokens).toBe(EXPRESSION_MAX_TOKENS));
    // Cache First's question reached the provider once: its second item and both of Cache Again's came from the cache.
    expect(calls.filter((r) => JSON.stringify(r.body.messages).includes(CACHED_PROMPT))).toHaveLength(1);
  }

  test('Direct mode: chat, extract (with one repair), classify, fallback and Continue On Fail, routed inside n8n', async () => {
    const before = emulator.requests.length;
    const run = await n8n.execute('syE2eDirectOps01');
    checkOperations(run);
    const all = emulator.requests.slice(before).filter((r) => r.path === '/v1/chat/completions');
    const calls = all.filter((r) => r.authorization !== `Bearer ${ECHOED_KEY}`);
    expect(calls.every((r) => r.authorization === 'Bearer sk-emulator-key')).toBe(true);

    // The provider quoted a key without a well-known prefix back: the item names the field, never the key.
    expect(all.length - calls.length).toBeGreaterThanOrEqual(2);
    const echoed = itemsOf(run.result, 'Wrong Key');
    expect(echoed).toHaveLength(2);
    echoed.forEach((item) => {
      expect(String(item.error)).toMatch(/^Switchyard: .*Incorrect API key provided: \[redacted\]/);
      expect(item.description).toBe("The provider rejected its key: check 'OpenAI API Key' in the Switchyard API credential.");
      expect(JSON.stringify(item)).not.toContain(ECHOED_KEY);
    });
    expect(calls.some((r) => r.body.model === RATE_LIMITED_MODEL)).toBe(true);
    expectExpressionOptions(calls);
    const extractCall = calls.find((r) => (r.body.response_format as { json_schema?: { name?: string } })?.json_schema?.name === 'extracted_fields');
    expect(extractCall?.body.response_format).toMatchObject({ type: 'json_schema', json_schema: { strict: true, schema: { required: ['name', 'company', 'employees', 'website'] } } });
    const classifyCall = calls.find((r) => (r.body.response_format as { json_schema?: { name?: string } })?.json_schema?.name === 'classification');
    expect(classifyCall?.body.response_format).toMatchObject({ json_schema: { schema: { properties: { label: { enum: LABELS } } } } });
    expect(emulator.invalid).toEqual([]);
  });

  test('Gateway-server mode: the same workflow through a running Switchyard server, with its gateway key', async () => {
    // The premise: the server has a key in its store, so a request without one is refused.
    expect((await fetch(`${gateway.url}/v1/models`)).status).toBe(401);
    const before = emulator.requests.length;
    const run = await n8n.execute('syE2eGatewayOps1');
    const { slow } = checkOperations(run);
    // n8n's HTTP helper timed out (axios ECONNABORTED inside a NodeApiError): reported as a timeout of the server.
    slow.forEach((item) => expect(item.error).toBe(`The Switchyard server at ${gateway.url} did not answer within 0.5 s`));
    const calls = emulator.requests.slice(before).filter((r) => r.path === '/v1/chat/completions');
    expect(calls.length).toBeGreaterThanOrEqual(10);
    expectExpressionOptions(calls);
    expect(emulator.invalid).toEqual([]);

    // The same node with a key the server does not know: a readable 401 per item (Continue On Fail).
    const rejected = itemsOf(run.result, 'Wrong Key');
    expect(rejected).toHaveLength(2);
    rejected.forEach((item) => {
      expect(String(item.error)).toMatch(/^Switchyard server: Invalid or revoked API key/);
      expect(item.description).toBe("The Switchyard server rejected the gateway key: check 'Gateway Key' in the Switchyard API credential.");
    });
  });

  function checkAgent(run: Awaited<ReturnType<N8nInstance['execute']>>, before: number) {
    if (!run.ok) throw new Error(`agent execution failed: ${JSON.stringify(run.result.data?.resultData?.error)}\n${run.log}`);
    expect(itemsOf(run.result, 'Agent')).toEqual([{ output: 'Tool said: [{"response":"42"}]' }]);
    const calls = emulator.requests.slice(before).filter((r) => r.path === '/v1/chat/completions');
    // The model asked for the calculator, n8n ran it, the result went back to the model.
    expect(calls.map((r) => (r.body.messages as Array<{ role: string }>).map((m) => m.role).at(-1))).toEqual(['user', 'tool']);
    calls.forEach((r) => expect((r.body.tools as Array<{ function: { name: string } }>)[0]?.function.name).toBe('Calculator'));
    // The Chat Model's Sampling Temperature, set by an expression ("0.2"), arrived as a number.
    calls.forEach((r) => expect(r.body.temperature).toBe(AGENT_TEMPERATURE));
    expect(emulator.invalid).toEqual([]);
  }

  test('Switchyard Chat Model drives the AI Agent (tool call included), Direct mode', async () => {
    const before = emulator.requests.length;
    checkAgent(await n8n.execute('syE2eDirectAgt01'), before);
  });

  test('Switchyard Chat Model drives the AI Agent (tool call included), Gateway-server mode', async () => {
    const before = emulator.requests.length;
    checkAgent(await n8n.execute('syE2eGatewayAgt1'), before);
  });

  test('no gateway key (nor a provider key an upstream echoed) appears in anything n8n or the server printed', () => {
    const transcript = n8n.transcript();
    expect(transcript).toContain(`Echo: ${JSON.stringify(SAMPLE_TEXTS[0]).slice(1, -1)}`); // the executions' output is in it
    const leaks = (text: string) =>
      Object.entries({ 'gateway key': gateway.apiKey, 'wrong gateway key': WRONG_GATEWAY_KEY, 'echoed provider key': ECHOED_KEY })
        .filter(([, key]) => text.includes(key))
        .map(([name]) => name);
    expect(leaks(transcript)).toEqual([]);
    expect(leaks(gateway.output())).toEqual([]);
  });

  test('the shipped example workflows use only operations and parameters the node defines', () => {
    // The built node description (plain data; its only import is a type).
    const { switchyardProperties } = jest.requireActual<{ switchyardProperties: Array<{ name: string; options?: Array<{ value?: unknown }> }> }>(
      join(PACKAGE_DIR, 'dist', 'nodes', 'Switchyard', 'description.js'),
    );
    const names = new Set(switchyardProperties.map((p) => p.name));
    const operations = switchyardProperties.find((p) => p.name === 'operation')?.options?.map((o) => o.value);
    const ours = EXAMPLES.flatMap((wf) => wf.nodes).filter((n) => n.type === 'n8n-nodes-switchyard.switchyard');
    expect(ours.length).toBeGreaterThanOrEqual(3);
    for (const node of ours) {
      expect(operations).toContain(node.parameters.operation);
      for (const key of Object.keys(node.parameters)) expect([node.name, key, names.has(key)]).toEqual([node.name, key, true]);
    }
  });
});
