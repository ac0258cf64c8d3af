import Database from 'better-sqlite3';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { request as httpRequest, type IncomingHttpHeaders } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startMockUpstream, type MockUpstream } from '../../src/bench/mock-upstream';
import { closeUpstreamPools } from '../../src/core/http';
import { createLogger } from '../../src/server/log';
import { installSignalHandlers, startServer, type RunningServer } from '../../src/server/server';
import { assertOpenAIChunk, assertOpenAIError } from '../helpers/openai-schema';
import { signalHandlersUntilExit, sseEvents, type ErrorJson } from './helpers/serve';

/**
 * Requests still in flight when `server.shutdown_timeout_ms` expires: they are aborted as "the
 * gateway is shutting down" (not as callers that left), told so, and recorded as 503.
 */

const model = (key: string) =>
  `  - { key: up/${key}, provider: up, model: ${key}, quality: 40, context_window: 100000, max_output_tokens: 4096, pricing: { input: 1, output: 2 }, capabilities: { tools: true, json_schema: true, vision: false, streaming: true }, latency_prior: { ttft_ms: 100, tokens_per_second: 200 } }`;

const CONFIG = [
  'server:',
  '  shutdown_timeout_ms: 50',
  'providers:',
  '  up:',
  '    type: openai-compatible',
  '    base_url: ${UP_URL}/v1',
  '    api_key: sk-test-upstream-1',
  'models:',
  model('endless'),
  model('slow'),
  'routing:',
  '  retries_per_model: 0',
].join('\n');

const noOllama = async () => {
  throw new Error('connection refused');
};

interface Answer {
  status: number;
  headers: IncomingHttpHeaders;
  body: string;
  /** The response ended cleanly (not cut by a reset socket). */
  complete: boolean;
}

/** A chat POST over its own connection; `onData` sees the body as it arrives. */
function post(url: string, body: unknown, onData: (soFar: string) => void = () => undefined): { answer: Promise<Answer>; destroy: () => void } {
  const payload = JSON.stringify(body);
  let destroy = () => undefined as void;
  const answer = new Promise<Answer>((resolve, reject) => {
    const req = httpRequest(`${url}/v1/chat/completions`, { method: 'POST', agent: false, headers: { 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(payload)) } }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => {
        text += c;
        onData(text);
      });
      const done = () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: text, complete: res.complete });
      res.on('end', done);
      res.on('aborted', done);
      res.on('error', done);
    });
    req.on('error', reject);
    destroy = () => req.destroy();
    req.end(payload);
  });
  return { answer, destroy };
}

interface UsageRow {
  requested_model: string;
  status: number;
  error_kind: string | null;
  prompt_tokens: number;
  completion_tokens: number;
  cost_usd: number;
}

function usageRows(file: string): UsageRow[] {
  const db = new Database(file, { readonly: true });
  try {
    return db.prepare('SELECT requested_model, status, error_kind, prompt_tokens, completion_tokens, cost_usd FROM usage ORDER BY requested_model').all() as UsageRow[];
  } finally {
    db.close();
  }
}

const tick = () => new Promise((r) => setTimeout(r, 5));

async function until(condition: () => boolean): Promise<void> {
  while (!condition()) await tick();
}

describe('shutdown timeout: requests still in flight', () => {
  let dir: string;
  let upstream: MockUpstream;
  let gateway: RunningServer;
  let logs: string[];

  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), 'sy-shutdown-'));
    upstream = await startMockUpstream();
    // The streamed answer never finishes; the other answer would come after a minute.
    upstream.behaviour = (m) => (m === 'endless' ? { kind: 'endless', intervalMs: 10 } : { kind: 'ok', delayMs: 60_000 });
    writeFileSync(join(dir, 'switchyard.yaml'), CONFIG);
    logs = [];
    const logger = createLogger({ level: 'info', write: (line: string) => logs.push(line) });
    gateway = await startServer({ cwd: dir, port: 0, env: { UP_URL: upstream.url }, storePath: join(dir, 'usage.sqlite'), logger, fetch: noOllama });
  });
  /** A stream that has sent content and a non-streaming request waiting on its upstream: both still in flight. */
  async function startStreamAndWaitingRequest() {
    const stream = startEndlessStream();
    const waiting = post(gateway.url, { model: 'up/slow', messages: [{ role: 'user', content: 'Take your time' }] });
    await until(() => stream.started() && upstream.requests.length === 2);
    return { stream, waiting };
  }

  function startEndlessStream() {
    let started = false;
    const stream = post(gateway.url, { model: 'up/endless', stream: true, messages: [{ role: 'user', content: 'Go on forever' }] }, (text) => {
      started ||= text.includes('more');
    });
    return { ...stream, started: () => started };
  }

  afterEach(async () => {
    await gateway.shutdown();
    await upstream.close();
    await closeUpstreamPools();
    rmSync(dir, { recursive: true, force: true });
  });

  it('ends a started stream with a gateway_shutting_down error event and answers a waiting request 503 with Retry-After', async () => {
    const { stream, waiting } = await startStreamAndWaitingRequest();

    await gateway.shutdown();

    const streamed = await stream.answer;
    expect(streamed.status).toBe(200);
    expect(streamed.complete).toBe(true);
    const events = sseEvents(streamed.body).filter((e) => !e.startsWith(':'));
    expect(events).not.toContain('[DONE]');
    for (const chunk of events.slice(0, -1)) assertOpenAIChunk(JSON.parse(chunk));
    const last = JSON.parse(events.at(-1)!) as ErrorJson;
    assertOpenAIError({ error: last.error });
    expect(last.error).toMatchObject({ type: 'server_error', code: 'gateway_shutting_down', param: null });
    expect(last.error.message).toMatch(/gateway shut down before this answer was finished.*can be retried/);
    // The story sent along names the shutdown as what ended the attempt, not a caller that left.
    expect(JSON.stringify(last)).toContain('the gateway is shutting down');
    expect(JSON.stringify(last)).not.toContain('caller aborted');
    expect((last as unknown as { switchyard: { reason: string } }).switchyard.reason).toMatch(/up\/endless did not finish \(aborted: the gateway is shutting down\)\.$/);

    const answered = await waiting.answer;
    expect(answered.status).toBe(503);
    expect(answered.complete).toBe(true);
    expect(answered.headers['retry-after']).toBe('1');
    expect(answered.headers.connection).toBe('close');
    expect(answered.headers['content-type']).toMatch(/^application\/json/);
    const body = JSON.parse(answered.body) as ErrorJson;
    assertOpenAIError({ error: body.error });
    expect(body.error).toMatchObject({ type: 'server_error', code: 'gateway_shutting_down', param: null });

    // Both upstream calls were aborted rather than left running.
    await until(() => upstream.abortedResponses === 2);
    expect(logs.some((l) => l.includes('shutdown timeout: closing the remaining connections'))).toBe(true);
  });

  it('records the cut requests as 503 gateway_shutting_down and flushes them, still charging what the upstream worked on', async () => {
    const { stream, waiting } = await startStreamAndWaitingRequest();
    await gateway.shutdown();
    await Promise.all([stream.answer, waiting.answer]);

    const rows = usageRows(join(dir, 'usage.sqlite'));
    expect(rows).toEqual([
      expect.objectContaining({ requested_model: 'up/endless', status: 503, error_kind: 'gateway_shutting_down' }),
      expect.objectContaining({ requested_model: 'up/slow', status: 503, error_kind: 'gateway_shutting_down', completion_tokens: 0 }),
    ]);
    // No usage was reported: the stream is charged on an estimate of its prompt and what was sent, the other on its prompt.
    const [streamedRow, waitingRow] = rows;
    expect(streamedRow!.completion_tokens).toBeGreaterThan(0);
    expect(streamedRow!.cost_usd).toBeGreaterThan(0);
    expect(waitingRow!.prompt_tokens).toBeGreaterThan(0);
    expect(waitingRow!.cost_usd).toBeGreaterThan(0);
  });

  it('a second SIGTERM stops waiting out a long shutdown timeout: requests are cut as shutting down, rows written, exit(0)', async () => {
    writeFileSync(join(dir, 'switchyard.yaml'), CONFIG.replace('shutdown_timeout_ms: 50', 'shutdown_timeout_ms: 600000'));
    expect((await gateway.reload()).ok).toBe(true);
    const { stream, waiting } = await startStreamAndWaitingRequest();
    const before = process.listeners('SIGTERM');
    const { exits, exited } = signalHandlersUntilExit(gateway);
    const [onTerm] = process.listeners('SIGTERM').filter((l) => !before.includes(l));
    onTerm!('SIGTERM');
    await until(() => logs.some((l) => l.includes('shutting down: no new connections')));
    onTerm!('SIGTERM');
    await exited;
    expect(exits).toEqual([0]);

    const [streamed, answered] = await Promise.all([stream.answer, waiting.answer]);
    expect(sseEvents(streamed.body).at(-1)).toContain('gateway_shutting_down');
    expect(answered.status).toBe(503);
    expect(logs.some((l) => l.includes('stop signal again: no longer waiting'))).toBe(true);
    expect(logs.some((l) => l.includes('stopped by a second signal: closing the remaining connections'))).toBe(true);
    expect(usageRows(join(dir, 'usage.sqlite')).map((r) => [r.requested_model, r.status])).toEqual([
      ['up/endless', 503],
      ['up/slow', 503],
    ]);
  });

  it('a third stop signal exits at once with 1', async () => {
    const before = process.listeners('SIGTERM');
    const exits: number[] = [];
    const uninstall = installSignalHandlers({ shutdown: () => new Promise<void>(() => undefined), hurry: () => new Promise<void>(() => undefined) } as unknown as RunningServer, (code) => exits.push(code));
    const [onTerm] = process.listeners('SIGTERM').filter((l) => !before.includes(l));
    onTerm!('SIGTERM');
    onTerm!('SIGTERM');
    expect(exits).toEqual([]);
    onTerm!('SIGTERM');
    expect(exits).toEqual([1]);
    uninstall();
  });

  it('still records a caller that left before the shutdown as 499', async () => {
    const stream = startEndlessStream();
    await until(() => stream.started());
    stream.destroy();
    await stream.answer.catch(() => undefined);
    await until(() => upstream.abortedResponses === 1);
    await gateway.shutdown();

    expect(usageRows(join(dir, 'usage.sqlite'))).toEqual([expect.objectContaining({ requested_model: 'up/endless', status: 499, error_kind: 'request_aborted' })]);
    expect(logs.some((l) => l.includes('shutdown timeout'))).toBe(false);
  });
});
