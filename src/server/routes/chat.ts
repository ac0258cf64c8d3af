import type { IncomingHttpHeaders, ServerResponse } from 'node:http';
import type { Request, RequestHandler, Response } from 'express';
import { GatewayError, gatewayErrorFromProvider, ProviderError, validationError } from '../../core/errors';
import type { Switchyard } from '../../core/gateway';
import { CallerAbortError } from '../../core/http';
import { RoutingOptionsSchema, type CallOptions, type Plan, type RouteStory, type RoutedChatRequest } from '../../core/routing/types';
import { abandonedCallStory } from '../../core/routing/story';
import { parseRoutedRequest } from '../../core/routing/validate';
import type { ChatChunk, ChatResponse } from '../../core/schema';
import { readyResult } from '../../core/ready';
import { chunkJson } from '../../core/wire-text';
import { isModelAllowed, keyIdOf, type AccessControl, type KeyContext } from '../access';
import { jsonReader } from '../body';
import type { SwitchyardHolder } from '../holder';
import type { Logger } from '../log';
import type { Metrics } from '../metrics';
import { usageRowFromError, usageRowFromStory, type UsageStore } from '../store';
import { EventStream } from '../sse';
import { attemptJson, attemptsOf, storyHeaders, storyJson } from '../story';

export interface ChatDeps {
  holder: SwitchyardHolder;
  metrics: Metrics;
  logger: Logger;
  /** Keys, allowed models, rate limits and budgets; absent means open access. */
  access?: AccessControl;
  usage?: Pick<UsageStore, 'record'>;
  /** Keep prompt and completion text in usage rows (the store redacts PII). */
  logPrompts: boolean;
  /** Largest accepted body, e.g. "4mb". */
  bodyLimit: string | number;
  /** Requests in flight, aborted together when the shutdown timeout expires. */
  inFlight?: InFlightRequests;
}

/** What one request ended as: the answer's story, or the error the caller got. */
interface Outcome {
  status: number;
  stream: boolean;
  story?: RouteStory;
  error?: GatewayError;
  attempts?: number;
  completion?: string;
  /** The event stream, once a streamed answer started. */
  events?: EventStream;
}

const ROUTE_HEADER = 'x-switchyard-route';

function parseRouteHeader(value: string | string[] | undefined): RoutedChatRequest['routing'] | undefined {
  if (value === undefined) return undefined;
  const text = Array.isArray(value) ? value.join(',') : value;
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw new GatewayError(400, `Invalid ${ROUTE_HEADER} header: it must be a JSON object, e.g. {"prefer":"cost"}`, { param: ROUTE_HEADER, code: 'invalid_header' });
  }
  if (json === null || typeof json !== 'object' || Array.isArray(json)) {
    throw new GatewayError(400, `Invalid ${ROUTE_HEADER} header: it must be a JSON object, e.g. {"prefer":"cost"}`, { param: ROUTE_HEADER, code: 'invalid_header' });
  }
  const result = RoutingOptionsSchema.safeParse(json);
  if (!result.success) throw validationError(result.error, `${ROUTE_HEADER}.`);
  return result.data;
}

/** The body, validated, with the routing header merged under the body's own `routing`. */
export function parseChatRequest(body: unknown, headers: IncomingHttpHeaders): RoutedChatRequest {
  if (body === null || typeof body !== 'object' || Array.isArray(body)) {
    throw new GatewayError(400, 'The request body must be a JSON object (content-type: application/json).', { code: 'invalid_body' });
  }
  // Validated once here: the routing core takes the result as it is.
  const request = parseRoutedRequest(body);
  const fromHeader = parseRouteHeader(headers[ROUTE_HEADER]);
  if (fromHeader) request.routing = { ...fromHeader, ...request.routing };
  return request;
}

/** The abort reason of requests still in flight when the shutdown timeout expires (not the caller leaving). */
export class GatewayShutdownAbort extends Error {
  constructor() {
    super('the gateway is shutting down');
    this.name = 'AbortError';
  }
}

/** The abort controllers of the chat requests in flight (a Set: cheaper per request than a listener on a shared signal). */
export class InFlightRequests {
  private readonly controllers = new Set<AbortController>();
  private closing = false;

  track(controller: AbortController): void {
    if (this.closing) controller.abort(new GatewayShutdownAbort());
    else this.controllers.add(controller);
  }

  untrack(controller: AbortController): void {
    this.controllers.delete(controller);
  }

  /** Aborts every request in flight, and any arriving later, as "the gateway is shutting down". */
  abortAll(): void {
    this.closing = true;
    for (const controller of this.controllers) controller.abort(new GatewayShutdownAbort());
    this.controllers.clear();
  }
}

/** What a request cut by the shutdown is told: nothing is wrong with it, it can be sent again. */
export function shuttingDownError(): GatewayError {
  return new GatewayError(503, 'The gateway shut down before this answer was finished; the request was not completed and can be retried.', {
    type: 'server_error',
    code: 'gateway_shutting_down',
    // This connection is about to close: clients should not send their retry on it.
    headers: { 'retry-after': '1', connection: 'close' },
  });
}

export function toGatewayError(err: unknown): GatewayError {
  if (err instanceof GatewayError) return err;
  if (err instanceof ProviderError) return gatewayErrorFromProvider(err);
  if (err instanceof CallerAbortError) return new GatewayError(499, 'request aborted by the caller', { type: 'request_aborted', code: 'request_aborted' });
  return new GatewayError(500, 'internal error in the gateway', { type: 'api_error', code: 'internal_error' });
}

/**
 * Keys with limits need the plan: its candidates (allow-list) and the most the call can cost (a
 * budget reserves it until the call settles, so concurrent calls cannot all spend the same
 * remainder). Returns
 * the plan the call then follows: as it was, or re-planned on the models the key may use (every
 * source of candidates, rules and fallbacks included, is narrowed, and the story still tells
 * what the caller asked for).
 */
function admit(access: AccessControl | undefined, key: KeyContext | undefined, switchyard: Switchyard, request: RoutedChatRequest): Plan | undefined {
  if (!access || !key?.key) return undefined;
  const plan = switchyard.plan(request);
  const candidates = plan.candidates.map((c) => c.key);
  // Priced on the first model this key may use: an allow-list never pays for a model it cannot reach.
  const first = plan.candidates.find((c) => isModelAllowed(key.key!.allowed_models, c.key)) ?? plan.candidates[0];
  const admission = access.admit(key, { model: request.model, candidates, estimatedCostUsd: first?.maxCostUsd ?? 0 });
  return admission.models ? switchyard.plan(request, { onlyModels: admission.models }) : plan;
}

function sendJson(res: ServerResponse, status: number, body: string, headers: Record<string, string>): void {
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(body), ...headers });
  res.end(body);
}

async function completeChat(res: ServerResponse, switchyard: Switchyard, request: RoutedChatRequest, options: CallOptions, out: Outcome): Promise<void> {
  const result = await switchyard.chat(request, options);
  const { response } = result;
  const story = result.story;
  out.story = story;
  out.completion = response.choices[0]?.message.content ?? undefined;
  const body: ChatResponse & { switchyard: Record<string, unknown> } = { ...response, switchyard: storyJson(story) };
  sendJson(res, 200, JSON.stringify(body), storyHeaders(story));
}

/** A usage chunk built from the story, for upstreams that reported usage only at the end. */
function usageChunk(last: ChatChunk | undefined, story: RouteStory): ChatChunk | undefined {
  if (!story.usage) return undefined;
  return { id: last?.id ?? 'chatcmpl-switchyard', object: 'chat.completion.chunk', created: last?.created ?? Math.floor(Date.now() / 1000), model: last?.model ?? story.model, choices: [], usage: story.usage };
}

async function streamChat(res: ServerResponse, switchyard: Switchyard, request: RoutedChatRequest, options: CallOptions, out: Outcome, keepText: boolean): Promise<void> {
  const routed = await switchyard.stream(request, options);
  const events = new EventStream(res, {
    'x-switchyard-model': routed.model,
    'x-switchyard-provider': routed.provider,
    'x-switchyard-attempts': String(routed.attempts),
    'x-switchyard-cache': routed.cached ? 'hit' : 'miss',
  });
  out.events = events;
  const includeUsage = request.stream_options?.include_usage === true;
  let heldUsage: ChatChunk | undefined;
  let last: ChatChunk | undefined;
  let text = '';
  const chunks = routed.chunks[Symbol.asyncIterator]();
  try {
    // for await, but chunks already read leave without a promise each (readyResult).
    for (;;) {
      const next = readyResult(chunks) ?? (await chunks.next());
      if (next.done) break;
      const chunk = next.value;
      if (chunk.choices.length === 0) {
        // Usage arrives last: held so the decision story can travel with it.
        if (includeUsage && chunk.usage) heldUsage = chunk;
        continue;
      }
      last = chunk;
      if (keepText) text += chunk.choices[0]?.delta.content ?? '';
      if (!events.event(chunkJson(chunk))) await events.drained();
    }
  } catch (err) {
    // As for await would: a stream that did not fail itself is stopped (a no-op on one that did).
    await chunks.return?.()?.catch(() => undefined);
    // The story resolves however the stream ended: usage and cost of what was sent still count.
    out.story = await routed.story;
    out.completion = text;
    throw err;
  }
  out.completion = text;
  const story = await routed.story;
  out.story = story;
  const json = storyJson(story);
  if (includeUsage) {
    const final = heldUsage ?? usageChunk(last, story);
    if (final) events.event(JSON.stringify({ ...final, switchyard: json }));
  }
  events.comment(`switchyard ${JSON.stringify(json)}`);
  events.done();
}

/**
 * Answers with the error: a JSON error before the stream began, an error event after. `shutdown`:
 * the gateway aborted the request because it is shutting down, so an abort is its doing, not the caller's.
 */
function fail(res: ServerResponse, err: unknown, out: Outcome, logger: Logger, shutdown: boolean): void {
  const cause = toGatewayError(err);
  const error = shutdown && cause.code === 'request_aborted' ? shuttingDownError() : cause;
  // A call abandoned while an upstream worked on it is still charged (its prompt, on an estimate).
  out.story ??= abandonedCallStory(err);
  if (error.status === 500) logger.error('unexpected error answering a chat request', { err });
  out.error = error;
  out.status = error.status;
  const attempts = attemptsOf(err);
  out.attempts = attempts?.length;
  if (res.destroyed) {
    if (!shutdown) out.status = 499;
    return;
  }
  const body: Record<string, unknown> = { ...error.toBody() };
  if (attempts?.length) body.switchyard = { attempts: attempts.map(attemptJson) };
  if (out.events) {
    // A stream cut after content: its story (attempts, cost of what was sent) travels with the error.
    if (out.story) {
      const json = storyJson(out.story);
      body.switchyard = json;
      out.events.comment(`switchyard ${JSON.stringify(json)}`);
    }
    out.events.fail(body);
    return;
  }
  if (res.headersSent) {
    res.end();
    return;
  }
  const headers: Record<string, string> = { ...error.headers };
  if (attempts) headers['x-switchyard-attempts'] = String(attempts.length);
  sendJson(res, error.status, JSON.stringify(body), headers);
}

function promptText(request: RoutedChatRequest | undefined): string | null {
  if (!request) return null;
  return request.messages
    .map((m) => `${m.role}: ${typeof m.content === 'string' ? m.content : JSON.stringify(m.content ?? null)}`)
    .join('\n');
}

interface Finished {
  deps: ChatDeps;
  out: Outcome;
  key?: KeyContext;
  requested: string;
  request?: RoutedChatRequest;
  startedAt: number;
  durationMs: number;
}

/** Metrics, budget settlement, usage row and the access log line of one request. */
function finish({ deps, out, key, requested, request, startedAt, durationMs }: Finished): void {
  const { story } = out;
  deps.metrics.chat({ status: out.status, stream: out.stream, story, durationMs });
  deps.access?.settle(key, story?.costUsd ?? 0);
  if (deps.usage) {
    const prompt = deps.logPrompts ? promptText(request) : null;
    const extra = { time: startedAt, key_id: keyIdOf(key), status: out.status, prompt };
    try {
      const row = story
        ? usageRowFromStory(story, { ...extra, completion: deps.logPrompts ? (out.completion ?? null) : null, error_kind: out.error?.code ?? null })
        : usageRowFromError(out.error ?? toGatewayError(undefined), { ...extra, requested_model: requested || '(none)', latency_ms: durationMs, attempts: out.attempts });
      deps.usage.record(row);
    } catch (err) {
      deps.logger.error('usage row not recorded', { err });
    }
  }
  if (deps.logger.enabled('info')) {
    deps.logger.info('chat', {
      status: out.status,
      stream: out.stream,
      requested_model: requested,
      model: story?.model,
      provider: story?.provider,
      attempts: story?.attempts.length ?? out.attempts,
      cost_usd: story?.costUsd,
      cached: story?.cached,
      latency_ms: Math.round(durationMs * 10) / 10,
      key_id: keyIdOf(key) ?? undefined,
      error: out.error?.code ?? undefined,
    });
  }
}

/** POST /v1/chat/completions. */
export function chatHandler(deps: ChatDeps): RequestHandler {
  const readBody = jsonReader(deps.bodyLimit);
  return async (req: Request, res: Response) => {
    const startedAt = Date.now();
    const t0 = performance.now();
    const lease = deps.holder.acquire();
    deps.metrics.inFlight.inc();
    const abort = new AbortController();
    // The caller went away before the answer was complete: stop paying for the upstream.
    const onClose = () => {
      if (!res.writableFinished) abort.abort();
    };
    res.on('close', onClose);
    deps.inFlight?.track(abort);
    const out: Outcome = { status: 200, stream: false };
    let body: { model?: unknown; stream?: unknown } | undefined;
    let key: KeyContext | undefined;
    let request: RoutedChatRequest | undefined;
    try {
      // The key first: nobody without one gets the body read, parsed or judged.
      key = deps.access?.authenticate(req.headers);
      body = (await readBody(req)) as typeof body;
      out.stream = body?.stream === true;
      request = parseChatRequest(body, req.headers);
      const options: CallOptions = { signal: abort.signal, plan: admit(deps.access, key, lease.switchyard, request) };
      if (request.stream) await streamChat(res, lease.switchyard, request, options, out, deps.logPrompts);
      else await completeChat(res, lease.switchyard, request, options, out);
    } catch (err) {
      fail(res, err, out, deps.logger, abort.signal.reason instanceof GatewayShutdownAbort);
    } finally {
      res.off('close', onClose);
      deps.inFlight?.untrack(abort);
      deps.holder.release(lease);
      deps.metrics.inFlight.dec();
      const requested = request?.model ?? (typeof body?.model === 'string' ? body.model : '');
      finish({ deps, out, key, requested, request, startedAt, durationMs: performance.now() - t0 });
    }
  };
}
