import type { ChatMessage, ChatRequest, FunctionTool } from '../core/schema';

/**
 * What the demo provider says: deterministic text derived from the prompt, and JSON values
 * that satisfy a requested JSON schema. Nothing here pretends to be a real model.
 */

/** FNV-1a: a stable 32-bit hash, so the same prompt always gets the same answer. */
export function hash32(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

export function messageText(m: ChatMessage): string {
  const c = m.content;
  if (typeof c === 'string') return c;
  if (!Array.isArray(c)) return '';
  return c.map((p) => (p.type === 'text' ? p.text : '[image]')).join(' ');
}

export function lastUserText(req: ChatRequest): string {
  for (let i = req.messages.length - 1; i >= 0; i--) {
    const m = req.messages[i]!;
    if (m.role === 'user') return messageText(m);
  }
  return '';
}

/** Rough token count: about four characters per token, plus a little per message. */
export function estimateTokens(req: ChatRequest): number {
  let chars = 0;
  for (const m of req.messages) chars += messageText(m).length + 16;
  if (req.tools) chars += JSON.stringify(req.tools).length;
  return Math.max(1, Math.ceil(chars / 4));
}

const OPENINGS = [
  'Here is a short take on',
  'A quick answer about',
  'Thinking briefly about',
  'Responding to your message on',
  'Some thoughts on',
];

const BODY = [
  'This reply stands in for a real model, so you can watch routing, fallback and cost accounting without any API key.',
  'Each answer carries an x-switchyard-model header and a switchyard object saying which model answered, why, and what it cost.',
  'Ask for model "auto:cost", "auto:latency" or "auto:quality" and a different simulated model is chosen.',
  'Now and then a simulated model fails with a 429 or a 503, and Switchyard falls back to the next candidate.',
  'Set a provider key such as OPENAI_API_KEY and Switchyard routes to real models instead of this demo.',
  'GET /v1/usage shows the calls, tokens and cost recorded for this gateway.',
  'The demo models differ in price, speed and quality, just like real ones.',
];

const SENTENCES_BY_MODEL: Record<string, number> = { mini: 1, standard: 2, pro: 4 };

function topicOf(prompt: string): string {
  const flat = prompt.replace(/\s+/g, ' ').trim();
  if (!flat) return 'your request';
  return `"${flat.length > 60 ? `${flat.slice(0, 57)}...` : flat}"`;
}

/** The answer text of a simulated model, labelled as simulated. */
export function demoAnswer(provider: string, model: string, req: ChatRequest): string {
  const prompt = lastUserText(req);
  const h = hash32(`${model}\u0000${prompt}`);
  const count = SENTENCES_BY_MODEL[model] ?? 2;
  const parts = [`${OPENINGS[h % OPENINGS.length]} ${topicOf(prompt)}.`];
  for (let i = 0; i < count; i++) parts.push(BODY[(h + i * 3) % BODY.length]!);
  return `[simulated by Switchyard ${provider}/${model}] ${parts.join(' ')}`;
}

/** Text answering a tool result: the last tool message, summarised. */
export function demoToolFollowUp(provider: string, model: string, req: ChatRequest): string {
  const last = req.messages[req.messages.length - 1];
  const result = last ? messageText(last).replace(/\s+/g, ' ').slice(0, 200) : '';
  return `[simulated by Switchyard ${provider}/${model}] The tool returned: ${result}`;
}

type JsonSchema = Record<string, unknown>;

function resolveRef(ref: string, root: JsonSchema): JsonSchema | undefined {
  if (!ref.startsWith('#/')) return undefined;
  let node: unknown = root;
  for (const part of ref.slice(2).split('/')) {
    node = (node as Record<string, unknown> | undefined)?.[part.replace(/~1/g, '/').replace(/~0/g, '~')];
  }
  return node && typeof node === 'object' ? (node as JsonSchema) : undefined;
}

function sampleString(schema: JsonSchema, name: string): string {
  const format = schema.format;
  let s =
    format === 'date-time' ? '2025-01-01T00:00:00Z'
    : format === 'date' ? '2025-01-01'
    : format === 'email' ? 'demo@example.com'
    : format === 'uri' || format === 'url' ? 'https://example.com/'
    : format === 'uuid' ? '00000000-0000-4000-8000-000000000000'
    : `simulated ${name || 'value'}`;
  const min = typeof schema.minLength === 'number' ? schema.minLength : 0;
  const max = typeof schema.maxLength === 'number' ? schema.maxLength : Infinity;
  if (s.length < min) s = s.padEnd(min, '.');
  return s.length > max ? s.slice(0, max) : s;
}

function sampleNumber(schema: JsonSchema, integer: boolean): number {
  const min = typeof schema.minimum === 'number' ? schema.minimum : typeof schema.exclusiveMinimum === 'number' ? schema.exclusiveMinimum + (integer ? 1 : 0.5) : undefined;
  const max = typeof schema.maximum === 'number' ? schema.maximum : typeof schema.exclusiveMaximum === 'number' ? schema.exclusiveMaximum - (integer ? 1 : 0.5) : undefined;
  let v = min ?? (max !== undefined ? Math.min(max, integer ? 1 : 0.5) : integer ? 1 : 0.5);
  if (integer) v = Math.ceil(v);
  return v;
}

function sampleObject(schema: JsonSchema, root: JsonSchema, depth: number): Record<string, unknown> {
  const props = (schema.properties ?? {}) as Record<string, JsonSchema>;
  const required = Array.isArray(schema.required) ? (schema.required as string[]) : [];
  const names = required.length > 0 ? required : Object.keys(props);
  const out: Record<string, unknown> = {};
  for (const name of names) out[name] = sampleJson(props[name] ?? {}, root, depth + 1, name);
  return out;
}

/** A value that satisfies the schema's types, required properties, enums and simple bounds. */
export function sampleJson(schema: JsonSchema, root: JsonSchema = schema, depth = 0, name = ''): unknown {
  if (depth > 12) return null;
  if (typeof schema.$ref === 'string') return sampleJson(resolveRef(schema.$ref, root) ?? {}, root, depth + 1, name);
  if ('const' in schema) return schema.const;
  if (Array.isArray(schema.enum) && schema.enum.length > 0) return schema.enum[0];
  for (const key of ['anyOf', 'oneOf', 'allOf'] as const) {
    const options = schema[key];
    if (Array.isArray(options) && options.length > 0) {
      const nonNull = (options as JsonSchema[]).find((o) => o.type !== 'null') ?? (options[0] as JsonSchema);
      return sampleJson(nonNull, root, depth + 1, name);
    }
  }
  const types = Array.isArray(schema.type) ? (schema.type as string[]) : [schema.type];
  const type = types.find((t) => t !== 'null') ?? (schema.properties ? 'object' : types[0]);
  switch (type) {
    case 'object':
      return sampleObject(schema, root, depth);
    case 'array': {
      const n = Math.max(1, typeof schema.minItems === 'number' ? schema.minItems : 1);
      const count = typeof schema.maxItems === 'number' ? Math.min(n, schema.maxItems) : n;
      return Array.from({ length: count }, () => sampleJson((schema.items ?? {}) as JsonSchema, root, depth + 1, name));
    }
    case 'string':
      return sampleString(schema, name);
    case 'integer':
      return sampleNumber(schema, true);
    case 'number':
      return sampleNumber(schema, false);
    case 'boolean':
      return true;
    case 'null':
      return null;
    default:
      return name ? `simulated ${name}` : {};
  }
}

/** The tool a simulated model calls: the one tool_choice names, else the best word match, else the first. */
export function pickTool(req: ChatRequest): FunctionTool | undefined {
  const tools = req.tools ?? [];
  if (tools.length === 0 || req.tool_choice === 'none') return undefined;
  const last = req.messages[req.messages.length - 1];
  if (last?.role === 'tool') return undefined;
  const choice = req.tool_choice;
  if (choice && typeof choice === 'object') return tools.find((t) => t.function.name === choice.function.name) ?? tools[0];
  const words = new Set(lastUserText(req).toLowerCase().split(/\W+/).filter((w) => w.length > 2));
  const score = (t: FunctionTool) =>
    `${t.function.name} ${t.function.description ?? ''}`.toLowerCase().split(/\W+/).filter((w) => words.has(w)).length;
  let best = tools[0];
  for (const t of tools) if (score(t) > score(best!)) best = t;
  return best;
}
