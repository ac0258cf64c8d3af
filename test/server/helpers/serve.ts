import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import OpenAI from 'openai';
import type { Switchyard } from '../../../src/core/gateway';
import { createApp, type App, type AppOptions } from '../../../src/server/app';
import { SwitchyardHolder } from '../../../src/server/holder';
import { Metrics } from '../../../src/server/metrics';
import { installSignalHandlers, type RunningServer } from '../../../src/server/server';

export interface Served {
  url: string;
  client: OpenAI;
  holder: SwitchyardHolder;
  app: App;
  server: Server;
  close(): Promise<void>;
}

/** The gateway app on a real socket (127.0.0.1, any free port), with the official SDK as client. */
export async function serveApp(switchyard: Switchyard, opts: Partial<Omit<AppOptions, 'holder'>> = {}): Promise<Served> {
  const holder = new SwitchyardHolder(switchyard);
  const app = createApp({
    holder,
    server: { body_limit: '1mb', log_prompts: false, ...opts.server },
    metrics: opts.metrics ?? new Metrics({ defaultMetrics: false }),
    ...opts,
  });
  const server = createServer(app.app);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    url,
    client: new OpenAI({ baseURL: `${url}/v1`, apiKey: 'unused-locally', maxRetries: 0 }),
    holder,
    app,
    server,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** Reads an SSE body into its `data:` payloads (and comment lines, prefixed with ':'). */
export function sseEvents(text: string): string[] {
  return text
    .split('\n\n')
    .map((block) => block.trim())
    .filter(Boolean)
    .map((block) => (block.startsWith('data: ') ? block.slice(6) : block));
}

export async function postJson(url: string, body: unknown, headers: Record<string, string> = {}): Promise<Response> {
  return fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: typeof body === 'string' ? body : JSON.stringify(body) });
}

/** An OpenAI-shaped error body, with the attempts the gateway adds after a failed fallback. */
export interface ErrorJson {
  error: { message: string; type: string; param: string | null; code: string | null };
  switchyard?: { attempts: Array<{ model: string; outcome: string; status?: number }> };
}

export interface UsageJson {
  data: Array<{ group: string; calls: number; fallbacks: number; errors: number; cost_usd: number }>;
}

export async function errorJson(res: Response): Promise<ErrorJson> {
  return (await res.json()) as ErrorJson;
}

export async function usageJson(res: Response): Promise<UsageJson> {
  return (await res.json()) as UsageJson;
}

/**
 * installSignalHandlers with the process exit replaced: `exits` records the codes, `exited`
 * resolves on the first one (the handlers are then removed again).
 */
export function signalHandlersUntilExit(running: RunningServer): { exits: number[]; exited: Promise<void> } {
  const exits: number[] = [];
  const exited = new Promise<void>((resolve) => {
    const uninstall = installSignalHandlers(running, (code) => {
      exits.push(code);
      uninstall();
      resolve();
    });
  });
  return { exits, exited };
}
