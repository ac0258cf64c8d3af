import { createHmac } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import express, { type Express } from 'express';
import nock from 'nock';
import { GatewayError } from '../../src/core/errors';
import type { Switchyard } from '../../src/core/gateway';
import type { RoutedChatRequest, RoutedCompletion } from '../../src/core/routing/types';
import { FlowsSchema, WebhooksSectionSchema, type Flows, type WebhooksSectionInput } from '../../src/webhooks/config';
import { createWebhooks, type Webhooks } from '../../src/webhooks';
import type { Resolver } from '../../src/webhooks/clients/egress';
import type { WebhookLogger } from '../../src/webhooks/types';

export type Answer = string | Error | ((req: RoutedChatRequest) => string | Promise<string>);

/** A Switchyard whose answers are scripted; records every request. Never used for routing tests. */
export class FakeSwitchyard implements Switchyard {
  readonly requests: RoutedChatRequest[] = [];
  private readonly answers: Answer[];

  constructor(answers: Answer[] | Answer, private readonly model = 'fake/model-a') {
    this.answers = Array.isArray(answers) ? [...answers] : [answers];
  }

  async chat(request: RoutedChatRequest): Promise<RoutedCompletion> {
    this.requests.push(request);
    const next = this.answers.length > 1 ? this.answers.shift()! : this.answers[0]!;
    if (next instanceof Error) throw next;
    const text = typeof next === 'function' ? await next(request) : next;
    return completion(text, this.model);
  }

  stream(): never {
    throw new Error('not used');
  }

  plan(): never {
    throw new Error('not used');
  }

  models() {
    return [];
  }

  async close(): Promise<void> {}
}

export function completion(text: string, model = 'fake/model-a'): RoutedCompletion {
  const [provider = 'fake'] = model.split('/');
  return {
    response: {
      id: 'chatcmpl-1',
      object: 'chat.completion',
      created: 1,
      model,
      choices: [{ index: 0, message: { role: 'assistant', content: text, refusal: null }, finish_reason: 'stop', logprobs: null }],
      usage: { prompt_tokens: 10, completion_tokens: 5, total_tokens: 15 },
    },
    story: {
      requestedModel: 'auto',
      model,
      provider,
      attempts: [],
      costUsd: 0.0001,
      cached: false,
      reason: 'test',
      latencyMs: 1,
      plan: { candidates: [], excluded: [], prefer: 'balanced' },
    },
  };
}

export const overloaded = () => new GatewayError(503, 'fake: overloaded', { code: 'upstream_overloaded' });

/** A clock tests move by hand. */
export class ManualClock {
  constructor(public ms: number) {}
  now = (): number => this.ms;
  advance(ms: number): void {
    this.ms += ms;
  }
}

export interface CapturedLog {
  level: string;
  msg: string;
  fields?: Record<string, unknown>;
}

export function captureLogger(): { logger: WebhookLogger; lines: CapturedLog[]; text: () => string } {
  const lines: CapturedLog[] = [];
  const push = (level: string) => (msg: string, fields?: Record<string, unknown>) => void lines.push({ level, msg, fields });
  return { logger: { info: push('info'), warn: push('warn'), error: push('error') }, lines, text: () => JSON.stringify(lines) };
}

export interface Harness {
  app: Express;
  webhooks: Webhooks;
  clock: ManualClock;
  logs: ReturnType<typeof captureLogger>;
  dir: string;
  close(): Promise<void>;
}

export interface HarnessOptions {
  flows: unknown;
  switchyard: Switchyard;
  settings?: WebhooksSectionInput;
  now?: number;
  start?: boolean;
  /** Stands in for DNS in callbacks' connect-time address check. */
  callbackResolver?: Resolver;
}

/** The webhook router on an express app, with a temp queue file and a hand-moved clock. */
export function harness(opts: HarnessOptions): Harness {
  const dir = mkdtempSync(join(tmpdir(), 'sy-webhooks-'));
  const clock = new ManualClock(opts.now ?? 1_717_000_000_000);
  const logs = captureLogger();
  const flows: Flows = FlowsSchema.parse(opts.flows);
  const settings = WebhooksSectionSchema.parse({ public_base_url: 'https://gw.example.com', poll_ms: 20, backoff_base_ms: 1000, ...opts.settings });
  const webhooks = createWebhooks({
    flows,
    settings,
    withSwitchyard: (fn) => fn(opts.switchyard),
    logger: logs.logger,
    queuePath: join(dir, 'jobs.sqlite'),
    now: clock.now,
    random: () => 0.5,
    callbackResolver: opts.callbackResolver,
  });
  const app = express();
  app.use(webhooks.router);
  if (opts.start) webhooks.start();
  return {
    app,
    webhooks,
    clock,
    logs,
    dir,
    async close() {
      await webhooks.stop(1000);
      await webhooks.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

export function hmacHex(secret: string, data: string): string {
  return createHmac('sha256', secret).update(data).digest('hex');
}

export function hmacBase64(secret: string, data: string): string {
  return createHmac('sha256', secret).update(data).digest('base64');
}

/** Resolves once `check` returns a truthy value (polling real time; bounded). */
export async function eventually<T>(check: () => T | undefined | false | null, what = 'condition', timeoutMs = 10_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = check();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** A promise the test settles by hand. */
export function deferred<T = void>(): { promise: Promise<T>; resolve: (v: T) => void; reject: (e: unknown) => void } {
  let resolve!: (v: T) => void;
  let reject!: (e: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

/**
 * For the tests of the calling file or describe block: outbound HTTP reaches only nock and
 * 127.0.0.1 (never the internet), and nock's interceptors are cleared after each test.
 */
export function onlyLocalNetwork(): void {
  beforeAll(() => {
    nock.disableNetConnect();
    nock.enableNetConnect('127.0.0.1');
  });
  afterEach(() => nock.cleanAll());
  afterAll(() => nock.enableNetConnect());
}

export interface LocalServer {
  /** http://127.0.0.1:PORT */
  url: string;
  port: number;
  /** Paths requested, in order. */
  hits: string[];
  close(): Promise<void>;
}

/** An HTTP server on 127.0.0.1 (a stand-in for a service inside the gateway's network). */
export async function localServer(handle: (req: IncomingMessage, res: ServerResponse) => void): Promise<LocalServer> {
  const hits: string[] = [];
  const server = createServer((req, res) => {
    hits.push(req.url ?? '');
    req.resume();
    req.on('end', () => handle(req, res));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    hits,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
