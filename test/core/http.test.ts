import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { OpenAIAdapter } from '../../src/providers/openai';
import { CallerAbortError, closeUpstreamPools } from '../../src/core/http';
import { collect, fixtureJson, fixtureText } from '../helpers/fixtures';

/** The real transport (undici pool, no nock) against an emulator on 127.0.0.1. */
type Handler = (req: IncomingMessage, res: ServerResponse) => void;
let handler: Handler = () => undefined;
let server: Server;
let baseUrl = '';
const sockets = new Set<string>();
const closedRequests: string[] = [];

beforeAll(async () => {
  server = createServer((req, res) => {
    sockets.add(`${req.socket.remotePort}`);
    req.on('close', () => closedRequests.push(req.url ?? ''));
    handler(req, res);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1`;
});

afterAll(async () => {
  await closeUpstreamPools();
  server.closeAllConnections();
  await new Promise((r) => server.close(r));
});

const adapter = new OpenAIAdapter();
const req = { model: 'gpt-4.1-mini', messages: [{ role: 'user' as const, content: 'Hi' }] };
const ctx = () => ({ credentials: { apiKey: 'sk-local', baseUrl } });

describe('HTTP transport over real sockets', () => {
  it('reuses keep-alive connections for sequential calls', async () => {
    sockets.clear();
    handler = (_req, res) => {
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify(fixtureJson('openai/chat-basic.json')));
    };
    for (let i = 0; i < 10; i++) await adapter.complete(req, ctx());
    // undici may open a second socket while the first is being released; never one per call.
    expect(sockets.size).toBeLessThanOrEqual(2);
  });

  it('streams SSE written in small pieces', async () => {
    const transcript = fixtureText('openai/stream-basic.sse');
    handler = (_req, res) => {
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      const bytes = Buffer.from(transcript);
      let i = 0;
      const tick = () => {
        if (i >= bytes.length) return void res.end();
        res.write(bytes.subarray(i, i + 11));
        i += 11;
        setImmediate(tick);
      };
      tick();
    };
    const chunks = await collect(adapter.stream(req, ctx()));
    expect(chunks.map((c) => c.choices[0]?.delta.content ?? '').join('')).toBe('Hello! ¿Cómo estás? 👋');
  });

  it('closes the upstream request when the caller aborts mid-stream', async () => {
    closedRequests.length = 0;
    handler = (_req, res) => {
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      res.write('data: {"id":"x","object":"chat.completion.chunk","created":1,"model":"m","choices":[{"index":0,"delta":{"content":"Hi"},"finish_reason":null}]}\n\n');
      // never ends: only the caller's abort can finish this request
    };
    const controller = new AbortController();
    const seen: string[] = [];
    const reading = (async () => {
      for await (const c of adapter.stream(req, { ...ctx(), signal: controller.signal })) {
        seen.push(c.choices[0]?.delta.content ?? '');
        controller.abort();
      }
    })();
    await expect(reading).rejects.toBeInstanceOf(CallerAbortError);
    expect(seen).toEqual(['Hi']);
    await new Promise((r) => setTimeout(r, 50));
    expect(closedRequests).toContain('/v1/chat/completions');
  });

  it('gives up on a body that stalls past the total timeout', async () => {
    handler = (_req, res) => {
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      res.write(': keep-alive\n\n');
    };
    await expect(collect(adapter.stream(req, { ...ctx(), timeouts: { totalMs: 100 } }))).rejects.toMatchObject({ kind: 'timeout', retryable: true });
  });

  it('reports a refused connection as a retryable upstream error', async () => {
    const closed = createServer();
    await new Promise<void>((r) => closed.listen(0, '127.0.0.1', r));
    const port = (closed.address() as AddressInfo).port;
    await new Promise((r) => closed.close(r));
    await expect(adapter.complete(req, { credentials: { baseUrl: `http://127.0.0.1:${port}/v1` } })).rejects.toMatchObject({
      kind: 'upstream_error',
      retryable: true,
      message: expect.stringContaining('ECONNREFUSED'),
    });
  });
});
