/** Credentials and workflow JSON for the n8n end-to-end test, as `n8n import:*` reads them. */
import { SLOW_PROMPT } from './emulator';

export const DIRECT_CREDENTIAL_ID = 'syE2eDirect00001';
export const GATEWAY_CREDENTIAL_ID = 'syE2eGateway0001';
export const WRONG_KEY_CREDENTIAL_ID = 'syE2eWrongKey001';
export const ECHOED_KEY_CREDENTIAL_ID = 'syE2eEchoedKey01';
/** Shaped like a gateway key, but never created: the server must reject it. */
export const WRONG_GATEWAY_KEY = 'sk-sy-e2eWrongKeyNeverCreated000000000000';
export const NODE_TYPE = 'n8n-nodes-switchyard.switchyard';
export const CHAT_MODEL_TYPE = 'n8n-nodes-switchyard.switchyardChatModel';

export const SAMPLE_TEXTS = [
  'name: Ada Lovelace\ncompany: Analytical Engines Ltd\nemployees: 12\nI want to file a complaint about my last order.',
  'REPAIR-ME\nname: Grace Hopper\ncompany: US Navy\nI have a question about your pricing.',
];

export const LABELS = ['complaint', 'question', 'praise'];

/** The "Expressions" node's option values, given as expression strings. */
export const EXPRESSION_TEMPERATURE = 0.3;
export const EXPRESSION_MAX_TOKENS = 123;
/** Asked by "Cache First" then "Cache Again", both with the Cache option on. */
export const CACHED_PROMPT = 'Same question, asked twice: what is the capital of France?';
/** The Chat Model's options in the agent workflow, given as expression strings. */
export const AGENT_TEMPERATURE = 0.2;

/** Timeout option of the "Slow" node, far below the emulator's SLOW_ANSWER_MS. */
export const SLOW_TIMEOUT_SECONDS = 0.5;

/**
 * The gateway credential's Base URL is pasted with the endpoint path, as users copy it from docs:
 * every Gateway-mode node must still call the server at its address.
 */
export function credentials(emulatorUrl: string, gatewayUrl: string, gatewayKey: string, echoedKey: string) {
  return [
    {
      id: DIRECT_CREDENTIAL_ID,
      name: 'Switchyard Direct (emulator)',
      type: 'switchyardApi',
      data: { mode: 'direct', openaiApiKey: 'sk-emulator-key', openaiBaseUrl: `${emulatorUrl}/v1` },
    },
    {
      id: GATEWAY_CREDENTIAL_ID,
      name: 'Switchyard Gateway (local server)',
      type: 'switchyardApi',
      data: { mode: 'gateway', baseUrl: `${gatewayUrl}/v1/chat/completions`, gatewayApiKey: gatewayKey },
    },
    {
      id: ECHOED_KEY_CREDENTIAL_ID,
      name: 'Switchyard Direct (key the provider echoes)',
      type: 'switchyardApi',
      data: { mode: 'direct', openaiApiKey: echoedKey, openaiBaseUrl: `${emulatorUrl}/v1` },
    },
    {
      id: WRONG_KEY_CREDENTIAL_ID,
      name: 'Switchyard Gateway (wrong key)',
      type: 'switchyardApi',
      data: { mode: 'gateway', baseUrl: gatewayUrl, gatewayApiKey: WRONG_GATEWAY_KEY },
    },
  ];
}

type NodeJson = Record<string, unknown>;

function switchyardNode(name: string, position: [number, number], credentialId: string, parameters: NodeJson, extra: NodeJson = {}): NodeJson {
  return {
    id: `${name.toLowerCase().replace(/[^a-z]+/g, '-')}-id`,
    name,
    type: NODE_TYPE,
    typeVersion: 1,
    position,
    parameters,
    credentials: { switchyardApi: { id: credentialId, name: 'Switchyard' } },
    ...extra,
  };
}

const itemsSource: NodeJson[] = [
  { id: 'trigger-id', name: 'Start', type: 'n8n-nodes-base.manualTrigger', typeVersion: 1, position: [0, 0], parameters: {} },
  {
    id: 'set-id',
    name: 'Messages',
    type: 'n8n-nodes-base.set',
    typeVersion: 3.4,
    position: [200, 0],
    parameters: { mode: 'raw', jsonOutput: JSON.stringify({ items: SAMPLE_TEXTS.map((text) => ({ text })) }), options: {} },
  },
  { id: 'split-id', name: 'One Per Item', type: 'n8n-nodes-base.splitOut', typeVersion: 1, position: [400, 0], parameters: { fieldToSplitOut: 'items', options: {} } },
];

/**
 * Chat, Extract, Classify, a fallback, a failing node and one slower than its Timeout (both Continue On Fail),
 * all fed the sample items; with `wrongKeyCredentialId`, also a Chat node whose key is rejected (Continue On Fail).
 */
export function operationsWorkflow(id: string, credentialId: string, wrongKeyCredentialId?: string): NodeJson & { id: string } {
  const ops: NodeJson[] = [
    switchyardNode('Chat', [600, -300], credentialId, {
      operation: 'chat',
      inputType: 'prompt',
      prompt: '={{ $json.text }}',
      model: 'auto',
      options: { prefer: 'cost', maxTokens: 200 },
    }),
    switchyardNode('Extract', [600, -150], credentialId, {
      operation: 'extract',
      text: '={{ $json.text }}',
      fields: {
        field: [
          { name: 'name', type: 'string', description: 'Full name of the sender', required: true },
          { name: 'company', type: 'string', description: 'Company the sender works for', required: false },
          { name: 'employees', type: 'integer', description: 'Head count', required: false },
          { name: 'website', type: 'string', description: 'Company website', required: false },
        ],
      },
      model: 'auto:cost',
      options: {},
    }),
    switchyardNode('Classify', [600, 0], credentialId, {
      operation: 'classify',
      text: '={{ $json.text }}',
      labels: { label: LABELS.map((name) => ({ name, description: `The message is a ${name}` })) },
      model: 'openai/gpt-4.1-mini',
      options: {},
    }),
    switchyardNode('Fallback', [600, 150], credentialId, {
      operation: 'chat',
      inputType: 'messages',
      messages: '={{ JSON.stringify([{ role: "system", content: "Be brief." }, { role: "user", content: $json.text }]) }}',
      model: 'openai/gpt-4o',
      options: { fallbackModels: ['openai/gpt-4.1-mini'] },
    }),
    switchyardNode(
      'Unknown Model',
      [600, 300],
      credentialId,
      { operation: 'chat', inputType: 'prompt', prompt: '={{ $json.text }}', model: 'nope/not-a-model', options: {} },
      { onError: 'continueRegularOutput' },
    ),
    switchyardNode(
      'Slow',
      [600, 600],
      credentialId,
      { operation: 'chat', inputType: 'prompt', prompt: SLOW_PROMPT, model: 'openai/gpt-4.1-mini', options: { timeoutSeconds: SLOW_TIMEOUT_SECONDS } },
      { onError: 'continueRegularOutput' },
    ),
  ];
  // Options set by expressions arrive as strings ("0.3", "true"): they must reach the request as numbers and booleans.
  ops.push(
    switchyardNode('Expressions', [600, 750], credentialId, {
      operation: 'chat',
      inputType: 'prompt',
      prompt: '={{ $json.text }}',
      model: 'openai/gpt-4.1-mini',
      options: {
        temperature: `={{ "${EXPRESSION_TEMPERATURE}" }}`,
        maxTokens: `={{ "${EXPRESSION_MAX_TOKENS}" }}`,
        maxCostUsd: '={{ "1" }}',
        cache: '={{ "false" }}',
        timeoutSeconds: '={{ "60" }}',
      },
    }),
  );
  const cached = (name: string, y: number) =>
    switchyardNode(name, [800, y], credentialId, { operation: 'chat', inputType: 'prompt', prompt: CACHED_PROMPT, model: 'openai/gpt-4.1-mini', options: { cache: true } });
  if (wrongKeyCredentialId) {
    ops.push(
      switchyardNode(
        'Wrong Key',
        [600, 450],
        wrongKeyCredentialId,
        { operation: 'chat', inputType: 'prompt', prompt: '={{ $json.text }}', model: 'auto', options: {} },
        { onError: 'continueRegularOutput' },
      ),
    );
  }
  const names = ops.map((n) => ({ node: String(n.name), type: 'main', index: 0 }));
  return {
    id,
    name: `Switchyard e2e ${id}`,
    active: false,
    nodes: [...itemsSource, ...ops, cached('Cache First', 900), cached('Cache Again', 1050)],
    connections: {
      Start: { main: [[{ node: 'Messages', type: 'main', index: 0 }]] },
      Messages: { main: [[{ node: 'One Per Item', type: 'main', index: 0 }]] },
      'One Per Item': { main: [[...names, { node: 'Cache First', type: 'main', index: 0 }]] },
      // Cache Again runs after Cache First, in another node execution (its own client, as a later execution has).
      'Cache First': { main: [[{ node: 'Cache Again', type: 'main', index: 0 }]] },
    },
    settings: { executionOrder: 'v1' },
  };
}

export const AGENT_PROMPT = 'What is six times seven? Use the calculator.';

/** The AI Agent driven by the Switchyard Chat Model sub-node, with n8n's Calculator as its tool. */
export function agentWorkflow(id: string, credentialId: string): NodeJson & { id: string } {
  return {
    id,
    name: `Switchyard agent e2e ${id}`,
    active: false,
    nodes: [
      { id: 'trigger-id', name: 'Start', type: 'n8n-nodes-base.manualTrigger', typeVersion: 1, position: [0, 0], parameters: {} },
      {
        id: 'agent-id',
        name: 'Agent',
        type: '@n8n/n8n-nodes-langchain.agent',
        typeVersion: 3.1,
        position: [300, 0],
        parameters: { promptType: 'define', text: AGENT_PROMPT, hasOutputParser: false, options: {} },
      },
      {
        id: 'model-id',
        name: 'Switchyard Chat Model',
        type: CHAT_MODEL_TYPE,
        typeVersion: 1,
        position: [200, 250],
        parameters: { model: 'auto', options: { prefer: 'cost', fallbackModels: ['openai/gpt-4.1-mini'], temperature: `={{ "${AGENT_TEMPERATURE}" }}`, timeoutSeconds: '={{ "60" }}' } },
        credentials: { switchyardApi: { id: credentialId, name: 'Switchyard' } },
      },
      { id: 'calc-id', name: 'Calculator', type: '@n8n/n8n-nodes-langchain.toolCalculator', typeVersion: 1, position: [400, 250], parameters: {} },
    ],
    connections: {
      Start: { main: [[{ node: 'Agent', type: 'main', index: 0 }]] },
      'Switchyard Chat Model': { ai_languageModel: [[{ node: 'Agent', type: 'ai_languageModel', index: 0 }]] },
      Calculator: { ai_tool: [[{ node: 'Agent', type: 'ai_tool', index: 0 }]] },
    },
    settings: { executionOrder: 'v1' },
  };
}
