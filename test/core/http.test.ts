import { spawn } from 'node:child_process';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { buildSync } from 'esbuild';
import { OpenAIAdapter } from '../../src/providers/openai';
import { CallerAbortError, closeUpstreamPools, sendUpstream } from '../../src/core/http';
import { readyResult, type ReadyIterator } from '../../src/core/ready';
import type { ChatChunk } from '../../src/core/schema';
import { createSwitchyard } from '../../src/core/routing/switchyard';
import { startEmulator, stopEmulator, type Emulator } from '../helpers/emulator';
import { collect, fixtureJson, fixtureText } from '../helpers/fixtures';

/** The real transport (node:http keep-alive pool) against an emulator on 127.0.0.1. */
type Handler = (req: IncomingMessage, res: ServerResponse) => void;
let handler: Handler = () => undefined;
let emulator: Emulator;
let baseUrl = '';
const sockets = new Set<string>();
const closedRequests: string[] = [];

beforeAll(async () => {
  emulator = await startEmulator((req, res) => {
    sockets.add(`${req.socket.remotePort}`);
    req.on('close', () => closedRequests.push(req.url ?? ''));
    handler(req, res);
  });
  baseUrl = emulator.baseUrl;
});

afterAll(() => stopEmulator(emulator));

const adapter = new OpenAIAdapter();
const req = { model: 'gpt-4.1-mini', messages: [{ role: 'user' as const, content: 'Hi' }] };
const ctx = () => ({ credentials: { apiKey: 'sk-local', baseUrl } });

/**
 * Runs `calls` sequential calls of the OpenAI adapter in a fresh node process. nock, once any test
 * file of this jest worker loaded it, hands every http.request a throwaway agent, so connection
 * reuse can only be observed outside the worker.
 */
async function callsInFreshProcess(mode: 'json' | 'stream', calls: number, pauseMs = 0): Promise<void> {
  const src = join(__dirname, '..', '..', 'src');
  const entry = `
    import { OpenAIAdapter } from ${JSON.stringify(join(src, 'providers', 'openai'))};
    import { closeUpstreamPools } from ${JSON.stringify(join(src, 'core', 'http'))};
    const [baseUrl, mode, calls, pauseMs] = process.argv.slice(2);
    const adapter = new OpenAIAdapter();
    const req = { model: 'gpt-4.1-mini', messages: [{ role: 'user', content: 'Hi' }] };
    (async () => {
      for (let i = 0; i < Number(calls); i++) {
        if (mode === 'json') await adapter.complete(req, { credentials: { baseUrl } });
        else for await (const _ of adapter.stream(req, { credentials: { baseUrl } })) void _;
        await new Promise((r) => setTimeout(r, Number(pauseMs)));
      }
      await closeUpstreamPools();
    })().catch((err) => { console.error(err); process.exitCode = 1; });`;
  const bundle = buildSync({ stdin: { contents: entry, resolveDir: src, loader: 'ts' }, bundle: true, platform: 'node', format: 'cjs', write: false, logLevel: 'silent' });
  const child = spawn(process.execPath, ['-', baseUrl, mode, String(calls), String(pauseMs)], { stdio: ['pipe', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (b: Buffer) => (stderr += b.toString()));
  child.stdin.end(bundle.outputFiles[0]!.text);
  const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
  expect({ code, stderr }).toEqual({ code: 0, stderr: '' });
}

describe('HTTP transport over real sockets', () => {
  it('reuses keep-alive connections for sequential calls', async () => {
    sockets.clear();
    handler = (_req, res) => {
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify(fixtureJson('openai/chat-basic.json')));
    };
    await callsInFreshProcess('json', 10);
    // A second socket may open while the first is being released; never one per call.
    expect(sockets.size).toBeLessThanOrEqual(2);
  });

  it('keeps the connection of a stream whose body ends a moment after [DONE]', async () => {
    sockets.clear();
    const transcript = fixtureText('openai/stream-basic.sse');
    handler = (_req, res) => {
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      res.write(transcript);
      // The end of the chunked body leaves after the reader has seen [DONE].
      setTimeout(() => res.end(), 20);
    };
    // The next call starts once the previous body has ended: closing at [DONE] would open 5 sockets.
    await callsInFreshProcess('stream', 5, 60);
    expect(sockets.size).toBeLessThanOrEqual(2);
  });

  it('closes a stream that fails mid-answer at once when the router ends the attempt', async () => {
    closedRequests.length = 0;
    handler = (_req, res) => {
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      res.write('data: {"id":"x","object":"chat.completion.chunk","created":1,"model":"gpt-4.1-mini","choices":[{"index":0,"delta":{"content":"Hi"},"finish_reason":null}]}\n\n');
      res.write('data: {not json\n\n');
      // then nothing: only closing the connection ends this request
    };
    const sy = createSwitchyard({ providers: { openai: { type: 'openai', api_key: 'sk-local', base_url: baseUrl } } }, { env: {} });
    const routed = await sy.stream({ model: 'gpt-4.1-mini', messages: [{ role: 'user', content: 'Hi' }] });
    await expect(collect(routed.chunks)).rejects.toMatchObject({ partial: true, message: expect.stringContaining('invalid stream event') });
    // Well before the drain delay a stream left after its last event gets.
    await new Promise((r) => setTimeout(r, 100));
    expect(closedRequests).toContain('/v1/chat/completions');
    await sy.close();
  });

  it('reads gzip-compressed answers', async () => {
    handler = (_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json', 'content-encoding': 'gzip' });
      res.end(gzipSync(JSON.stringify(fixtureJson('openai/chat-basic.json'))));
    };
    const response = await adapter.complete(req, ctx());
    expect(response.choices[0]?.message.content).toBe((fixtureJson('openai/chat-basic.json') as { choices: Array<{ message: { content: string } }> }).choices[0]!.message.content);
  });

  it('reads a gzip-compressed event stream', async () => {
    handler = (_req, res) => {
      res.writeHead(200, { 'content-type': 'text/event-stream', 'content-encoding': 'gzip' });
      res.end(gzipSync(fixtureText('openai/stream-basic.sse')));
    };
    const chunks = await collect(adapter.stream(req, ctx()));
    expect(chunks.map((c) => c.choices[0]?.delta.content ?? '').join('')).toBe('Hello! ¿Cómo estás? 👋');
    expect(chunks.at(-1)?.usage).toMatchObject({ prompt_tokens: 12, completion_tokens: 9 });
  });

  it('closes the upstream request when the caller aborts before the answer starts', async () => {
    closedRequests.length = 0;
    handler = () => undefined; // never answers
    const controller = new AbortController();
    const pending = adapter.complete(req, { ...ctx(), signal: controller.signal });
    setTimeout(() => controller.abort(), 20);
    await expect(pending).rejects.toBeInstanceOf(CallerAbortError);
    // The server sees the close when the socket's FIN reaches it: wait for it (a busy machine takes a while), bounded.
    for (let i = 0; i < 400 && !closedRequests.includes('/v1/chat/completions'); i++) await new Promise((r) => setTimeout(r, 10));
    expect(closedRequests).toContain('/v1/chat/completions');
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

  it('hands over the chunks of one network read without waiting (ready), then waits for the next read', async () => {
    const event = (content: string) => `data: {"id":"x","object":"chat.completion.chunk","created":1,"model":"m","choices":[{"index":0,"delta":{"content":"${content}"},"finish_reason":null}]}\n\n`;
    let finish!: () => void;
    handler = (_req, res) => {
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      res.write(event('a') + event('b') + event('c'));
      finish = () => res.end(`${event('d')}data: {"id":"x","object":"chat.completion.chunk","created":1,"model":"m","choices":[{"index":0,"delta":{},"finish_reason":"stop"}]}\n\ndata: [DONE]\n\n`);
    };
    const stream = adapter.stream(req, ctx())[Symbol.asyncIterator]() as ReadyIterator<ChatChunk>;
    const text = (r: IteratorResult<ChatChunk> | undefined) => (r && !r.done ? r.value.choices[0]?.delta.content : r?.done ? 'END' : undefined);
    expect(stream.ready()).toBeUndefined(); // nothing asked for yet: the request is not even sent
    expect(text(await stream.next())).toBe('a');
    expect([text(stream.ready()), text(stream.ready()), stream.ready()]).toEqual(['b', 'c', undefined]);
    const waiting = stream.next();
    finish();
    expect(text(await waiting)).toBe('d');
    // The finish chunk, then the end ([DONE]), without waiting if they arrived together.
    const rest = [readyResult(stream) ?? (await stream.next())];
    rest.push(readyResult(stream) ?? (await stream.next()));
    expect(rest.map((r) => (r.done ? 'END' : r.value.choices[0]?.finish_reason))).toEqual(['stop', 'END']);
    expect(stream.ready()).toEqual({ done: true, value: undefined });
  });

  it('body events: concurrent reads each get the next event; a body cut mid-answer is thrown, then the events are over', async () => {
    let cut!: () => void;
    handler = (_req, res) => {
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      res.flushHeaders();
      cut = () => {
        res.write('data: one\n\ndata: two\n\n');
        setTimeout(() => res.socket?.destroy(), 20);
      };
    };
    const call = await sendUpstream({ provider: 'p', url: `${baseUrl}/chat/completions`, headers: {}, body: {}, ctx: { credentials: { baseUrl } }, readError: () => ({ message: 'x' }) });
    const events = call.events();
    const both = Promise.all([events.next(), events.next()]);
    expect(events.ready()).toBeUndefined();
    cut();
    expect((await both).map((r) => (r.done ? 'END' : r.value.data))).toEqual(['one', 'two']);
    let thrown: unknown;
    try {
      // Nothing at hand until the cut reaches the reader; then ready() throws it.
      for (let i = 0; i < 200 && events.ready() === undefined; i++) await new Promise((r) => setTimeout(r, 10));
    } catch (err) {
      thrown = err;
    }
    expect(thrown).toMatchObject({ kind: 'upstream_error' });
    // The failure released the call: the events are over.
    await expect(events.next()).resolves.toEqual({ done: true, value: undefined });
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

  it('sends to the URL it is given each time: path, query, credentials in the URL, and again after the pools were closed', async () => {
    const seen: string[] = [];
    handler = (r, res) => {
      seen.push(`${r.url} ${r.headers.authorization ?? '-'}`);
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(fixtureText('openai/chat-basic.json'));
    };
    const withCredentials = baseUrl.replace('http://', 'http://user:p%40ss@');
    const send = (url: string) => sendUpstream({ provider: 'p', url, headers: {}, body: {}, ctx: { credentials: { baseUrl } }, readError: () => ({ message: 'x' }) }).then((call) => call.json());
    await send(`${baseUrl}/chat/completions`);
    await send(`${baseUrl}/other?alt=sse`);
    await send(`${withCredentials}/chat/completions`);
    await closeUpstreamPools();
    await send(`${baseUrl}/chat/completions`);
    expect(seen).toEqual([
      '/v1/chat/completions -',
      '/v1/other?alt=sse -',
      `/v1/chat/completions Basic ${Buffer.from('user:p@ss').toString('base64')}`,
      '/v1/chat/completions -',
    ]);
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
