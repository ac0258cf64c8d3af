import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * An OpenAI-compatible provider on 127.0.0.1 for the n8n end-to-end test. It answers with the
 * documented Chat Completions payloads (objects, SSE chunks, error bodies) and behaves like a model
 * that follows instructions literally:
 * - json_schema requests get an object built from `key: value` lines of the user text (null when absent);
 *   a text containing "REPAIR-ME" first gets an invalid reply, then a valid one once asked to repair;
 * - classification requests (an enum `label`) get the first label named in the text;
 * - requests with tools get one call of the first tool, then text once a tool result is in the conversation;
 * - anything else gets "Echo: <last user message>";
 * - model "gpt-4o" is always rate limited (429, OpenAI's error body), so routing must fall back;
 * - a last user message containing "SLOW-ME" is answered only after SLOW_ANSWER_MS (never, if the caller gives up);
 * - the key ECHOED_KEY is refused with OpenAI's 401, which quotes the key back as OpenAI does.
 */

export interface EmulatorRequest {
  path: string;
  authorization?: string;
  body: Record<string, unknown>;
}

export interface Emulator {
  url: string;
  requests: EmulatorRequest[];
  /** Payloads the emulator sent that failed the given validator (should stay empty). */
  invalid: string[];
  close(): Promise<void>;
}

export interface EmulatorOptions {
  validateResponse?: (body: unknown) => void;
  validateChunk?: (chunk: unknown) => void;
}

type Json = Record<string, unknown>;
type Message = { role: string; content?: unknown; tool_calls?: unknown };

export const RATE_LIMITED_MODEL = 'gpt-4o';
export const SLOW_PROMPT = 'SLOW-ME';
export const SLOW_ANSWER_MS = 3_000;
/** A provider key without a well-known prefix (a proxy's): only exact masking can hide it. */
export const ECHOED_KEY = 'emuPlainKey0042xyz';

function text(content: unknown): string {
  if (typeof content === 'string') return content;
  if (Array.isArray(content)) return content.map((p) => (p as { text?: string }).text ?? '').join('');
  return '';
}

function lastUser(messages: Message[]): string {
  return text([...messages].reverse().find((m) => m.role === 'user')?.content);
}

function tokens(s: string): number {
  return Math.max(1, Math.ceil(s.length / 4));
}

function lineValue(source: string, key: string): string | undefined {
  const re = new RegExp(`^\\s*${key.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}\\s*:\\s*(.+?)\\s*$`, 'im');
  return re.exec(source)?.[1];
}

function typed(value: string, schema: Json): unknown {
  const types = Array.isArray(schema.type) ? schema.type : [schema.type];
  if (types.includes('integer')) return Number.parseInt(value, 10);
  if (types.includes('number')) return Number(value);
  if (types.includes('boolean')) return /^(true|yes)$/i.test(value);
  if (types.includes('array')) return value.split(',').map((s) => s.trim());
  return value;
}

function structured(body: Json, messages: Message[]): string {
  const format = body.response_format as { json_schema: { schema: { properties: Record<string, Json> } } };
  const props = format.json_schema.schema.properties;
  const source = text(messages.find((m) => m.role === 'user')?.content);
  const label = props.label?.enum as string[] | undefined;
  if (label) {
    const hit = label.find((l) => source.toLowerCase().includes(l.toLowerCase()));
    return JSON.stringify({ label: hit ?? label[0], confidence: hit ? 0.9 : 0.3 });
  }
  const asked = messages.filter((m) => m.role === 'assistant').length;
  if (source.includes('REPAIR-ME') && asked === 0) return 'Sure! Here are the fields: {company: ';
  const out: Json = {};
  for (const [key, schema] of Object.entries(props)) {
    const value = lineValue(source, key);
    out[key] = value === undefined ? null : typed(value, schema);
  }
  return JSON.stringify(out);
}

interface Answer {
  content: string | null;
  toolCalls?: Array<{ id: string; type: 'function'; function: { name: string; arguments: string } }>;
}

function answer(body: Json): Answer {
  const messages = (body.messages ?? []) as Message[];
  const tools = body.tools as Array<{ function: { name: string } }> | undefined;
  if (tools?.length && !messages.some((m) => m.role === 'tool')) {
    const name = tools[0]?.function.name ?? 'tool';
    return { content: null, toolCalls: [{ id: 'call_emulator_1', type: 'function', function: { name, arguments: '{"input":"6*7"}' } }] };
  }
  if (tools?.length) {
    const result = text([...messages].reverse().find((m) => m.role === 'tool')?.content);
    return { content: `Tool said: ${result}` };
  }
  const format = body.response_format as { type?: string } | undefined;
  if (format?.type === 'json_schema') return { content: structured(body, messages) };
  return { content: `Echo: ${lastUser(messages)}` };
}

function completion(body: Json, a: Answer, id: string): Json {
  const prompt = tokens(JSON.stringify(body.messages));
  const completionTokens = tokens(a.content ?? JSON.stringify(a.toolCalls));
  return {
    id,
    object: 'chat.completion',
    created: Math.floor(Date.now() / 1000),
    model: String(body.model),
    system_fingerprint: 'fp_emulator',
    choices: [
      {
        index: 0,
        message: { role: 'assistant', content: a.content, refusal: null, ...(a.toolCalls ? { tool_calls: a.toolCalls } : {}) },
        logprobs: null,
        finish_reason: a.toolCalls ? 'tool_calls' : 'stop',
      },
    ],
    usage: {
      prompt_tokens: prompt,
      completion_tokens: completionTokens,
      total_tokens: prompt + completionTokens,
      prompt_tokens_details: { cached_tokens: 0, audio_tokens: 0 },
      completion_tokens_details: { reasoning_tokens: 0, audio_tokens: 0, accepted_prediction_tokens: 0, rejected_prediction_tokens: 0 },
    },
  };
}

function chunks(body: Json, a: Answer, id: string): Json[] {
  const base = { id, object: 'chat.completion.chunk', created: Math.floor(Date.now() / 1000), model: String(body.model), system_fingerprint: 'fp_emulator' };
  const choice = (delta: Json, finish: string | null) => ({ ...base, choices: [{ index: 0, delta, logprobs: null, finish_reason: finish }] });
  const out: Json[] = [choice({ role: 'assistant', content: '', refusal: null }, null)];
  if (a.content) for (const piece of a.content.match(/.{1,8}/gs) ?? []) out.push(choice({ content: piece }, null));
  for (const [index, call] of (a.toolCalls ?? []).entries()) {
    out.push(choice({ tool_calls: [{ index, id: call.id, type: 'function', function: { name: call.function.name, arguments: '' } }] }, null));
    out.push(choice({ tool_calls: [{ index, function: { arguments: call.function.arguments } }] }, null));
  }
  out.push(choice({}, a.toolCalls ? 'tool_calls' : 'stop'));
  const streamOptions = body.stream_options as { include_usage?: boolean } | undefined;
  if (streamOptions?.include_usage) out.push({ ...base, choices: [], usage: completion(body, a, id).usage });
  return out;
}

async function readBody(req: IncomingMessage): Promise<Json> {
  const parts: Buffer[] = [];
  for await (const part of req) parts.push(part as Buffer);
  const raw = Buffer.concat(parts).toString('utf8');
  return raw ? (JSON.parse(raw) as Json) : {};
}

function send(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  res.writeHead(status, { 'content-type': 'application/json', ...headers });
  res.end(JSON.stringify(body));
}

export async function startEmulator(options: EmulatorOptions = {}): Promise<Emulator> {
  const requests: EmulatorRequest[] = [];
  const invalid: string[] = [];
  let counter = 0;
  const check = (validate: ((v: unknown) => void) | undefined, value: unknown) => {
    try {
      validate?.(value);
    } catch (err) {
      invalid.push((err as Error).message.slice(0, 500));
    }
  };

  const server = createServer((req, res) => {
    void (async () => {
      const path = (req.url ?? '').split('?')[0] ?? '';
      const body = req.method === 'POST' ? await readBody(req) : {};
      requests.push({ path, authorization: req.headers.authorization, body });
      if (req.method === 'GET' && path === '/v1/models') {
        return send(res, 200, { object: 'list', data: ['gpt-4.1-mini', 'gpt-4.1-nano', 'gpt-4o'].map((id) => ({ id, object: 'model', created: 1_700_000_000, owned_by: 'emulator' })) });
      }
      if (req.method !== 'POST' || path !== '/v1/chat/completions') {
        return send(res, 404, { error: { message: `Unknown route ${req.method} ${path}`, type: 'invalid_request_error', param: null, code: 'unknown_url' } });
      }
      if (!req.headers.authorization?.startsWith('Bearer ')) {
        return send(res, 401, { error: { message: 'You didn\'t provide an API key.', type: 'invalid_request_error', param: null, code: null } });
      }
      if (req.headers.authorization === `Bearer ${ECHOED_KEY}`) {
        const message = `Incorrect API key provided: ${ECHOED_KEY}. You can find your API key at https://platform.openai.com/account/api-keys.`;
        return send(res, 401, { error: { message, type: 'invalid_request_error', param: null, code: 'invalid_api_key' } });
      }
      if (body.model === RATE_LIMITED_MODEL) {
        return send(
          res,
          429,
          { error: { message: `Rate limit reached for ${RATE_LIMITED_MODEL} on requests per min (RPM): Limit 3, Used 3, Requested 1.`, type: 'requests', param: null, code: 'rate_limit_exceeded' } },
          { 'retry-after': '0' },
        );
      }
      if (lastUser((body.messages ?? []) as Message[]).includes(SLOW_PROMPT)) {
        const waited = await new Promise<boolean>((resolve) => {
          const timer = setTimeout(() => resolve(true), SLOW_ANSWER_MS);
          res.once('close', () => {
            clearTimeout(timer);
            resolve(false);
          });
        });
        if (!waited) return;
      }
      const id = `chatcmpl-emu${++counter}`;
      const a = answer(body);
      if (body.stream === true) {
        res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
        for (const chunk of chunks(body, a, id)) {
          check(options.validateChunk, chunk);
          res.write(`data: ${JSON.stringify(chunk)}\n\n`);
        }
        res.end('data: [DONE]\n\n');
        return;
      }
      const out = completion(body, a, id);
      check(options.validateResponse, out);
      send(res, 200, out);
    })().catch((err: Error) => send(res, 500, { error: { message: err.message, type: 'server_error', param: null, code: null } }));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    invalid,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
