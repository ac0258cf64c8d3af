import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * A local OpenAI Chat Completions server (127.0.0.1 only) answering in the documented formats:
 * a `chat.completion` JSON body, or `chat.completion.chunk` server-sent events ending with
 * `data: [DONE]` (plus the usage chunk when `stream_options.include_usage`). The benchmark uses it
 * as the upstream; tests script failures per model.
 */

export type MockBehaviour =
  | { kind: 'ok'; text?: string; delayMs?: number; chunkDelayMs?: number }
  | { kind: 'status'; status: number; body?: unknown; headers?: Record<string, string> }
  /** Streams `chunks` content chunks, then destroys the socket (no [DONE]). */
  | { kind: 'die'; chunks: number }
  /** Streams a chunk every `intervalMs` until the client goes away. */
  | { kind: 'endless'; intervalMs: number }
  /** Streams these `data:` payloads as they are (other servers' spacing, fields, escapes), then [DONE]. */
  | { kind: 'events'; data: string[] };

export interface MockRequest {
  model: string;
  stream: boolean;
  body: Record<string, unknown>;
  headers: IncomingMessage['headers'];
}

export interface MockUpstream {
  readonly url: string;
  readonly server: Server;
  readonly requests: MockRequest[];
  /** Responses whose client went away before they were complete. */
  abortedResponses: number;
  behaviour: (model: string, req: MockRequest) => MockBehaviour;
  close(): Promise<void>;
}

export const DEFAULT_TEXT = 'Hello! This is a benchmark answer from the mock upstream, about forty tokens long, so that bodies look like real ones.';

function words(text: string): string[] {
  return text.match(/\s*\S+/g) ?? [];
}

const CREATED = 1_700_000_000;

function completion(model: string, text: string): string {
  const n = words(text).length;
  return JSON.stringify({
    id: 'chatcmpl-mock',
    object: 'chat.completion',
    created: CREATED,
    model,
    system_fingerprint: 'fp_mock',
    choices: [{ index: 0, message: { role: 'assistant', content: text, refusal: null }, logprobs: null, finish_reason: 'stop' }],
    usage: { prompt_tokens: 24, completion_tokens: n, total_tokens: 24 + n },
  });
}

function chunkEvent(model: string, delta: Record<string, unknown>, finish: string | null = null): string {
  return `data: ${JSON.stringify({ id: 'chatcmpl-mock', object: 'chat.completion.chunk', created: CREATED, model, system_fingerprint: 'fp_mock', choices: [{ index: 0, delta, logprobs: null, finish_reason: finish }] })}\n\n`;
}

/** The SSE events of an answer: role, one event per word, finish, usage (when asked), [DONE]. */
export function streamEvents(model: string, text: string, includeUsage: boolean): string[] {
  const parts = words(text);
  const events = [chunkEvent(model, { role: 'assistant', content: '' }), ...parts.map((w) => chunkEvent(model, { content: w })), chunkEvent(model, {}, 'stop')];
  if (includeUsage) {
    events.push(`data: ${JSON.stringify({ id: 'chatcmpl-mock', object: 'chat.completion.chunk', created: CREATED, model, choices: [], usage: { prompt_tokens: 24, completion_tokens: parts.length, total_tokens: 24 + parts.length } })}\n\n`);
  }
  events.push('data: [DONE]\n\n');
  return events;
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const parts: Buffer[] = [];
    req.on('data', (b: Buffer) => parts.push(b));
    req.on('end', () => resolve(Buffer.concat(parts).toString('utf8')));
    req.on('error', reject);
  });
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Waits `ms`, or less if the client goes away first (no timer outlives the connection). */
function delay(ms: number, res: ServerResponse): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer);
      res.off('close', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    res.once('close', done);
  });
}

async function writeStream(res: ServerResponse, events: string[], chunkDelayMs: number): Promise<void> {
  res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
  for (const e of events) {
    if (res.destroyed) return;
    res.write(e);
    if (chunkDelayMs > 0) await sleep(chunkDelayMs);
  }
  res.end();
}

export async function startMockUpstream(opts: { port?: number } = {}): Promise<MockUpstream> {
  const bodies = new Map<string, string>();
  const requests: MockRequest[] = [];
  const mock: MockUpstream = {
    url: '',
    server: undefined as unknown as Server,
    requests,
    abortedResponses: 0,
    behaviour: () => ({ kind: 'ok' }),
    close: async () => undefined,
  };

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    if (req.method === 'GET' && req.url?.endsWith('/models')) {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ object: 'list', data: [{ id: 'mock-model', object: 'model', created: CREATED, owned_by: 'mock' }] }));
      return;
    }
    const raw = await readBody(req);
    let body: Record<string, unknown>;
    try {
      body = JSON.parse(raw) as Record<string, unknown>;
    } catch {
      res.writeHead(400, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ error: { message: 'invalid JSON', type: 'invalid_request_error', param: null, code: null } }));
      return;
    }
    const model = String(body.model ?? '');
    const stream = body.stream === true;
    const record: MockRequest = { model, stream, body, headers: req.headers };
    requests.push(record);
    res.on('close', () => {
      if (!res.writableFinished) mock.abortedResponses += 1;
    });
    const b = mock.behaviour(model, record);
    if (b.kind === 'status') {
      res.writeHead(b.status, { 'content-type': 'application/json', ...b.headers });
      res.end(JSON.stringify(b.body ?? { error: { message: `mock failure ${b.status}`, type: 'server_error', param: null, code: null } }));
      return;
    }
    const includeUsage = (body.stream_options as { include_usage?: boolean } | undefined)?.include_usage === true;
    if (b.kind === 'die') {
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      for (const e of streamEvents(model, DEFAULT_TEXT, false).slice(0, b.chunks)) res.write(e);
      setTimeout(() => res.destroy(), 5);
      return;
    }
    if (b.kind === 'endless') {
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      res.write(chunkEvent(model, { role: 'assistant', content: '' }));
      while (!res.destroyed) {
        res.write(chunkEvent(model, { content: ' more' }));
        await sleep(b.intervalMs);
      }
      return;
    }
    if (b.kind === 'events') {
      await writeStream(res, [...b.data.map((d) => `data: ${d}\n\n`), 'data: [DONE]\n\n'], 0);
      return;
    }
    if (b.delayMs) {
      await delay(b.delayMs, res);
      if (res.destroyed) return;
    }
    const text = b.text ?? DEFAULT_TEXT;
    if (stream) {
      await writeStream(res, streamEvents(model, text, includeUsage), b.chunkDelayMs ?? 0);
      return;
    }
    const cacheKey = `${model}\u0000${text}`;
    let json = bodies.get(cacheKey);
    if (!json) bodies.set(cacheKey, (json = completion(model, text)));
    res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(json) });
    res.end(json);
  }

  const server = createServer((req, res) => {
    handle(req, res).catch(() => res.destroy());
  });
  server.keepAliveTimeout = 60_000;
  await new Promise<void>((resolve) => server.listen(opts.port ?? 0, '127.0.0.1', resolve));
  Object.assign(mock, {
    server,
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  });
  return mock;
}
