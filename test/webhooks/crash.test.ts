import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { JobQueue } from '../../src/webhooks/queue/queue';
import { eventually, hmacHex } from './helpers';

/**
 * The real CLI (`switchyard serve`) in child processes, against an OpenAI-compatible provider and
 * a Graph API emulated on 127.0.0.1: a process killed with SIGKILL in the middle of a job leaves
 * it leased; the next process takes it over once the lease expires and replies exactly once.
 * SIGTERM with a job still in flight releases it for the next start.
 */

const ROOT = resolve(__dirname, '..', '..');
const REGISTER = join(__dirname, 'fixtures', 'ts-register.js');
const APP_SECRET = 'crash-test-app-secret-0123456789';

interface Upstream {
  url: string;
  llmCalls: number;
  replies: unknown[];
  /** Model calls wait on this until it is opened. */
  hold: boolean;
  held: ServerResponse[];
  server: Server;
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((res) => {
    let text = '';
    req.on('data', (c: Buffer) => (text += c.toString()));
    req.on('end', () => res(text));
  });
}

async function startUpstream(): Promise<Upstream> {
  const up = { llmCalls: 0, replies: [] as unknown[], hold: true, held: [] as ServerResponse[] } as Upstream;
  up.server = createServer(async (req, res) => {
    const body = await readBody(req);
    if (req.url === '/v1/chat/completions') {
      up.llmCalls++;
      if (up.hold) {
        up.held.push(res);
        return;
      }
      res.setHeader('content-type', 'application/json');
      res.end(
        JSON.stringify({
          id: 'chatcmpl-1',
          object: 'chat.completion',
          created: 1,
          model: 'm1',
          choices: [{ index: 0, message: { role: 'assistant', content: 'We are open 9 to 5.', refusal: null }, finish_reason: 'stop', logprobs: null }],
          usage: { prompt_tokens: 5, completion_tokens: 6, total_tokens: 11 },
        }),
      );
      return;
    }
    if (req.url === '/v23.0/106540352242922/messages') {
      up.replies.push(JSON.parse(body));
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify({ messaging_product: 'whatsapp', messages: [{ id: `wamid.OUT${up.replies.length}` }] }));
      return;
    }
    res.statusCode = 404;
    res.end();
  });
  await new Promise<void>((r) => up.server.listen(0, '127.0.0.1', r));
  up.url = `http://127.0.0.1:${(up.server.address() as AddressInfo).port}`;
  return up;
}

function config(dir: string, upstream: string): string {
  return `
providers:
  local:
    type: openai-compatible
    base_url: ${upstream}/v1
    api_key: sk-local-test-key-0000
models:
  - { key: local/m1, provider: local, model: m1, quality: 50, context_window: 32000, max_output_tokens: 2048, pricing: { input: 0.1, output: 0.2 }, capabilities: { tools: false, json_schema: true, vision: false, streaming: true }, latency_prior: { ttft_ms: 100, tokens_per_second: 100 } }
routing:
  retries_per_model: 0
  max_ttft_ms: 120000
  deadline_ms: 120000
server:
  store_path: ${join(dir, 'usage.sqlite')}
  shutdown_timeout_ms: 1000
  log_level: info
webhooks:
  queue_path: ${join(dir, 'jobs.sqlite')}
  public_base_url: https://gw.example.com
  lease_ms: 1000
  poll_ms: 100
flows:
  support:
    source: whatsapp
    whatsapp:
      app_secret: ${APP_SECRET}
      verify_token: verify-token-0123
      access_token: EAAGcrashtesttoken0123456789
      api_base_url: ${upstream}
    prompt: "{{message.text}}"
    model: local/m1
    action: { type: reply }
`;
}

interface Child {
  proc: ChildProcess;
  url: Promise<string>;
  exited: Promise<number | null>;
  output: () => string;
}

function serve(dir: string): Child {
  const proc = spawn(process.execPath, ['-r', REGISTER, join(ROOT, 'src', 'cli', 'main.ts'), 'serve', '--config', join(dir, 'switchyard.yaml'), '--port', '0', '--host', '127.0.0.1'], {
    cwd: dir,
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? dir },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  const url = new Promise<string>((res, rej) => {
    proc.stdout!.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      const m = /"msg":"switchyard listening","url":"([^"]+)"/.exec(out);
      if (m) res(m[1]!);
    });
    proc.stderr!.on('data', (chunk: Buffer) => (out += chunk.toString()));
    proc.once('exit', (code) => rej(new Error(`switchyard exited (${code}) before listening:\n${out}`)));
  });
  url.catch(() => undefined);
  const exited = new Promise<number | null>((res) => proc.once('exit', (code) => res(code)));
  return { proc, url, exited, output: () => out };
}

const MESSAGE = JSON.stringify({
  object: 'whatsapp_business_account',
  entry: [
    {
      id: '1',
      changes: [
        {
          field: 'messages',
          value: {
            messaging_product: 'whatsapp',
            metadata: { display_phone_number: '15550783881', phone_number_id: '106540352242922' },
            contacts: [{ profile: { name: 'Kim' }, wa_id: '16505550000' }],
            messages: [{ from: '16505550000', id: 'wamid.CRASH1', timestamp: String(Math.floor(Date.now() / 1000)), type: 'text', text: { body: 'When are you open?' } }],
          },
        },
      ],
    },
  ],
});

async function deliver(url: string): Promise<number> {
  const res = await fetch(`${url}/webhooks/support`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-hub-signature-256': `sha256=${hmacHex(APP_SECRET, MESSAGE)}` },
    body: MESSAGE,
  });
  await res.text();
  return res.status;
}

function jobState(dir: string) {
  const queue = new JobQueue(join(dir, 'jobs.sqlite'));
  try {
    return queue.list()[0];
  } finally {
    queue.close();
  }
}

describe('webhook jobs survive the process', () => {
  jest.setTimeout(60_000);
  let dir: string;
  let up: Upstream;
  const children: Child[] = [];

  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), 'sy-crash-'));
    up = await startUpstream();
    writeFileSync(join(dir, 'switchyard.yaml'), config(dir, up.url));
  });
  afterEach(async () => {
    for (const c of children.splice(0)) if (c.proc.exitCode === null && c.proc.signalCode === null) c.proc.kill('SIGKILL');
    for (const res of up.held) res.destroy();
    await new Promise<void>((r) => up.server.close(() => r()));
    up.server.closeAllConnections();
    rmSync(dir, { recursive: true, force: true });
  });

  it('kill -9 in the middle of a job: the next process finishes it and replies once', async () => {
    const first = serve(dir);
    children.push(first);
    expect(await deliver(await first.url)).toBe(200);
    await eventually(() => up.llmCalls === 1, 'model call in flight');
    expect(jobState(dir)).toMatchObject({ state: 'running', attempts: 1 });

    first.proc.kill('SIGKILL');
    expect(await first.exited).toBeNull();
    up.hold = false;

    const second = serve(dir);
    children.push(second);
    await second.url;
    await eventually(() => jobState(dir)?.state === 'done', 'job finished by the second process', 30_000);
    expect(up.replies).toEqual([
      { messaging_product: 'whatsapp', recipient_type: 'individual', to: '16505550000', type: 'text', text: { preview_url: false, body: 'We are open 9 to 5.' } },
    ]);
    expect(jobState(dir)).toMatchObject({ attempts: 2, effect: 'whatsapp message sent (wamid.OUT1)' });

    expect(await deliver(await second.url)).toBe(200); // a late platform retry of the same message
    second.proc.kill('SIGTERM');
    expect(await second.exited).toBe(0);
    expect(up.replies).toHaveLength(1);
  });

  it('SIGTERM with a job in flight releases it; the next start finishes it', async () => {
    const first = serve(dir);
    children.push(first);
    expect(await deliver(await first.url)).toBe(200);
    await eventually(() => up.llmCalls === 1, 'model call in flight');
    first.proc.kill('SIGTERM');
    expect(await first.exited).toBe(0);
    expect(jobState(dir)).toMatchObject({ state: 'pending', attempts: 0 });
    expect(first.output()).toMatch(/released for the next start/);

    up.hold = false;
    const second = serve(dir);
    children.push(second);
    await second.url;
    await eventually(() => jobState(dir)?.state === 'done', 'job finished after restart', 30_000);
    expect(up.replies).toHaveLength(1);
    second.proc.kill('SIGTERM');
    expect(await second.exited).toBe(0);
  });
});
