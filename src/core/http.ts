import { Agent as HttpAgent, request as httpRequest, type ClientRequest, type IncomingHttpHeaders, type IncomingMessage } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import type { Socket } from 'node:net';
import { pipeline, type Readable } from 'node:stream';
import { urlToHttpOptions } from 'node:url';
import { createBrotliDecompress, createGunzip, createInflate } from 'node:zlib';
import { createParser, type EventSourceMessage } from 'eventsource-parser';
import { DEFAULT_TIMEOUTS, type CallContext, type Timeouts } from './adapter';
import { ProviderError, type ErrorKind, type ProviderErrorInit } from './errors';
import { retryAfterMsFromHeaders } from './retry-after';
import { FINISHED, type ReadyIterator } from './ready';

/**
 * The upstream transport is node:http(s) with keep-alive agents. Measured on the gateway bench,
 * a call through it costs ~100 us of CPU against ~250 us through global fetch (WHATWG streams,
 * Request/Response objects), and nock intercepts it just as it does fetch, so the tests that
 * answer with nock and the ones against real 127.0.0.1 emulators run this same code path.
 */
const IDLE_SOCKET_MS = 30_000;
const MAX_SOCKETS_PER_ORIGIN = 256;
const MAX_ERROR_BODY = 64_000;
/** How long a stream the reader left after its terminal event may take to end before its connection is closed. */
const DRAIN_MS = 1000;
const USER_AGENT = 'switchyard';

/** One keep-alive pool per protocol (each pools per host and port), shared by every call. */
const agents = new Map<string, HttpAgent>();

function agentFor(protocol: string): HttpAgent {
  let agent = agents.get(protocol);
  if (!agent) {
    // `timeout` closes idle pooled sockets; a running request is never cut by it (our timers own that).
    const options = { keepAlive: true, maxSockets: MAX_SOCKETS_PER_ORIGIN, timeout: IDLE_SOCKET_MS };
    agent = protocol === 'https:' ? new HttpsAgent(options) : new HttpAgent(options);
    agents.set(protocol, agent);
  }
  return agent;
}

/** What http.request needs of an upstream URL, with its agent. */
interface RequestTarget {
  secure: boolean;
  options: { protocol: string; hostname: string; port: string | number | undefined; path: string; auth?: string; agent: HttpAgent };
}

/** Targets by URL: a provider has a few endpoint URLs, each parsed once (measured ~5 us per call saved, most of it in the agent's copy of a larger options object). */
const targets = new Map<string, RequestTarget>();
const MAX_TARGETS = 512;

function requestTarget(url: string): RequestTarget {
  const known = targets.get(url);
  if (known) return known;
  const parsed = urlToHttpOptions(new URL(url));
  const protocol = parsed.protocol ?? 'http:';
  const options = { protocol, hostname: parsed.hostname ?? '', port: parsed.port ?? undefined, path: parsed.path ?? '/', agent: agentFor(protocol) };
  const target: RequestTarget = { secure: protocol === 'https:', options: parsed.auth ? { ...options, auth: parsed.auth } : options };
  if (targets.size >= MAX_TARGETS) targets.clear();
  targets.set(url, target);
  return target;
}

/** Closes every pooled connection (tests, graceful shutdown). */
export function closeUpstreamPools(): Promise<void> {
  for (const agent of agents.values()) agent.destroy();
  agents.clear();
  targets.clear();
  return Promise.resolve();
}

/** Thrown when the caller itself aborted: never retried, never a provider failure. */
export class CallerAbortError extends Error {
  constructor() {
    super('request aborted by the caller');
    this.name = 'AbortError';
  }
}

export interface ErrorDetails {
  message: string;
  code?: string;
  kind?: ErrorKind;
  /** Overrides the kind's default, e.g. a 429 for an exhausted quota is not worth retrying. */
  retryable?: boolean;
  /** A delay the body asked for (Gemini's RetryInfo), used when the headers give none. */
  retryAfterMs?: number;
  /** The request field the error is about (OpenAI's `param`). */
  param?: string;
}

/** Reads a provider's error body; each adapter knows its own shape. */
export type ErrorBodyReader = (status: number, body: unknown, rawText: string) => ErrorDetails;

const CONTEXT_LENGTH_RE = /context[_ ]length|context window|maximum context|too many tokens|prompt is too long|exceeds the maximum/i;

/** Status-based classification shared by every provider; adapters refine it with `kind`. */
export function classifyStatus(status: number, message: string): ErrorKind {
  if (status === 401 || status === 403) return 'auth';
  if (status === 429) return 'rate_limited';
  if (status === 408 || status === 504) return 'timeout';
  if (status === 503 || status === 529) return 'overloaded';
  if (status === 400 || status === 413 || status === 422) {
    return CONTEXT_LENGTH_RE.test(message) ? 'context_length_exceeded' : 'bad_request';
  }
  if (status === 404) return 'bad_request';
  return 'upstream_error';
}

export interface UpstreamRequest {
  provider: string;
  url: string;
  method?: 'GET' | 'POST';
  headers: Record<string, string>;
  body?: unknown;
  ctx: CallContext;
  readError: ErrorBodyReader;
}

/**
 * A call in flight: the response headers have arrived with a 2xx status.
 * Read the body with `json()` or `events()`; both release the timers when done.
 */
export class UpstreamCall {
  constructor(
    readonly status: number,
    readonly headers: IncomingHttpHeaders,
    private readonly response: IncomingMessage,
    /** The body as UTF-8 text, decompressed when the upstream compressed it. */
    private readonly body: Readable,
    private readonly provider: string,
    private readonly guard: CallGuard,
  ) {}

  async json(): Promise<unknown> {
    try {
      let text = '';
      for await (const part of this.body) text += part as string;
      try {
        return JSON.parse(text);
      } catch {
        throw new ProviderError({ kind: 'upstream_error', provider: this.provider, message: 'upstream sent invalid JSON' });
      }
    } catch (err) {
      throw this.guard.translate(err, this.provider);
    } finally {
      this.guard.dispose();
    }
  }

  /**
   * Server-sent events, parsed by eventsource-parser whatever the chunk boundaries. The body is
   * read in flowing mode: every HTTP chunk the socket delivered in one read is parsed before the
   * reader resumes, rather than one async-iterator step per chunk (an upstream sends a chunk per
   * event), and the events parsed so far are handed over without a promise (`ready()`). A reader
   * that falls MAX_QUEUED_EVENTS behind pauses the body: backpressure reaches the upstream through
   * TCP as before. Stopping early (after [DONE]) leaves the body to cancel().
   */
  events(): ReadyIterator<EventSourceMessage> {
    return new BodyEvents(new EventReader(this.body), this.guard, this.provider);
  }

  /**
   * Stops reading. Adapters stop at the terminal event ([DONE], message_stop), often a moment
   * before the end of the body arrives: the rest is drained for up to DRAIN_MS so that the
   * connection goes back to the pool (a new TLS handshake costs a real provider tens of ms),
   * then closed. An abort of the caller's signal (also how the router ends a failed stream) or
   * a timeout of ours closes the connection at once.
   */
  cancel(): void {
    if (this.guard.stopped || this.body.destroyed || this.body.readableEnded) {
      this.guard.dispose();
      return;
    }
    this.guard.drain(this.body, this.response.complete);
  }
}

const NO_EVENTS: readonly EventSourceMessage[] = Object.freeze([]);

/**
 * The events of one body, in order. Ends at the body's end; a failure of the body is thrown as the
 * guard translates it. Reaching either, or return(), detaches the reader and releases the guard.
 */
class BodyEvents implements ReadyIterator<EventSourceMessage> {
  private batch: readonly EventSourceMessage[] = NO_EVENTS;
  private index = 0;
  private closed = false;

  constructor(
    private readonly reader: EventReader,
    private readonly guard: CallGuard,
    private readonly provider: string,
  ) {}

  [Symbol.asyncIterator](): this {
    return this;
  }

  ready(): IteratorResult<EventSourceMessage> | undefined {
    if (this.closed) return FINISHED;
    if (this.index === this.batch.length) {
      this.batch = this.reader.take();
      this.index = 0;
    }
    if (this.index < this.batch.length) return { done: false, value: this.batch[this.index++]! };
    if (this.reader.failure !== undefined) {
      this.close();
      throw this.guard.translate(this.reader.failure, this.provider);
    }
    if (this.reader.ended) {
      this.close();
      return FINISHED;
    }
    return undefined;
  }

  async next(): Promise<IteratorResult<EventSourceMessage>> {
    for (;;) {
      const result = this.ready();
      if (result) return result;
      await this.reader.arrival();
    }
  }

  return(): Promise<IteratorResult<EventSourceMessage>> {
    this.close();
    return Promise.resolve(FINISHED);
  }

  private close(): void {
    if (this.closed) return;
    this.closed = true;
    this.reader.detach();
    this.guard.dispose();
  }
}

/** How many parsed events may wait for a slow reader before the body is paused. */
const MAX_QUEUED_EVENTS = 256;

/** The events of a body read in flowing mode, queued until UpstreamCall.events() takes them. */
class EventReader {
  private queue: EventSourceMessage[] = [];
  private readonly parser = createParser({ onEvent: (event) => this.queue.push(event) });
  private wake?: () => void;
  /** The promise of arrival(), shared by concurrent readers until the next notify(). */
  private waiting?: Promise<void>;
  ended = false;
  failure?: unknown;

  private readonly onData = (text: string) => {
    this.parser.feed(text);
    if (this.queue.length >= MAX_QUEUED_EVENTS) this.body.pause();
    this.notify();
  };
  private readonly onEnd = () => {
    this.ended = true;
    this.notify();
  };
  private readonly onError = (err: unknown) => {
    this.failure ??= err;
    this.notify();
  };
  /** Destroyed without an error and before its end: the connection went away mid-answer. */
  private readonly onClose = () => {
    if (!this.ended) this.failure ??= Object.assign(new Error('premature close'), { code: 'ERR_STREAM_PREMATURE_CLOSE' });
    this.notify();
  };

  constructor(private readonly body: Readable) {
    body.on('data', this.onData);
    body.once('end', this.onEnd);
    body.once('error', this.onError);
    body.once('close', this.onClose);
  }

  /** Every event parsed so far (resuming a body paused for a slow reader); never the queue itself. */
  take(): readonly EventSourceMessage[] {
    const batch = this.queue;
    if (batch.length === 0) return NO_EVENTS;
    this.queue = [];
    if (this.body.isPaused() && !this.ended) this.body.resume();
    return batch;
  }

  /** Resolves when more events, the end or a failure arrived. */
  arrival(): Promise<void> {
    return (this.waiting ??= new Promise((resolve) => (this.wake = resolve)));
  }

  detach(): void {
    this.body.off('data', this.onData);
    this.body.off('end', this.onEnd);
    this.body.off('error', this.onError);
    this.body.off('close', this.onClose);
  }

  private notify(): void {
    const wake = this.wake;
    this.wake = undefined;
    this.waiting = undefined;
    wake?.();
  }
}

/** Owns the timers and the caller's signal of one call, and what to destroy when it must stop. */
class CallGuard {
  /** Why the call was stopped (the caller, or one of our timeouts); set once. */
  private reason?: Error;
  private readonly timers: NodeJS.Timeout[] = [];
  private firstByteTimer?: NodeJS.Timeout;
  private stopWatchingConnect?: () => void;
  /** The request, then the response body: destroyed with the reason when the call stops. */
  target?: { destroy(err?: Error): unknown };
  /** Fails the pending sendUpstream() when the call stops before the response headers. */
  onStop?: (reason: Error) => void;
  private readonly onCallerAbort = () => this.stop(new CallerAbortError());

  constructor(
    private readonly ctx: CallContext,
    private readonly timeouts: Timeouts,
    private readonly provider: string,
  ) {
    if (ctx.signal?.aborted) this.reason = new CallerAbortError();
    ctx.signal?.addEventListener('abort', this.onCallerAbort, { once: true });
    const totalMs = Math.min(timeouts.totalMs, ctx.deadline !== undefined ? ctx.deadline - Date.now() : Infinity);
    this.arm(Math.max(0, totalMs), `${provider}: no complete answer within ${Math.round(totalMs)} ms`);
    this.firstByteTimer = this.arm(timeouts.firstByteMs, `${provider}: no response within ${timeouts.firstByteMs} ms`);
  }

  get stopped(): Error | undefined {
    return this.reason;
  }

  private arm(ms: number, message: string): NodeJS.Timeout {
    const timer = setTimeout(() => this.stop(new ProviderError({ kind: 'timeout', message })), ms);
    timer.unref?.();
    this.timers.push(timer);
    return timer;
  }

  /** TCP + TLS connect within `connectMs`, for a socket the pool had to open. */
  watchConnect(socket: Socket, secure: boolean): void {
    if (!socket.connecting) return;
    const ms = this.timeouts.connectMs;
    const event = secure ? 'secureConnect' : 'connect';
    const connected = () => clearTimeout(timer);
    const timer = setTimeout(() => this.stop(new ProviderError({ kind: 'timeout', provider: this.provider, message: `connection to upstream failed (connect timeout after ${ms} ms)` })), ms);
    timer.unref?.();
    socket.once(event, connected);
    this.stopWatchingConnect = () => {
      clearTimeout(timer);
      socket.off(event, connected);
    };
  }

  headersArrived(): void {
    if (this.firstByteTimer) clearTimeout(this.firstByteTimer);
    this.stopWatchingConnect?.();
  }

  stop(reason: Error): void {
    if (this.reason) return;
    this.reason = reason;
    this.target?.destroy(reason);
    this.onStop?.(reason);
  }

  /** See UpstreamCall.cancel(). */
  drain(body: Readable, complete: boolean): void {
    this.dispose();
    const signal = this.ctx.signal;
    const close = () => body.destroy();
    const timer = complete ? undefined : setTimeout(close, DRAIN_MS);
    timer?.unref?.();
    signal?.addEventListener('abort', close, { once: true });
    body.once('close', () => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', close);
    });
    body.resume();
  }

  dispose(): void {
    for (const t of this.timers) clearTimeout(t);
    this.stopWatchingConnect?.();
    this.ctx.signal?.removeEventListener('abort', this.onCallerAbort);
  }

  /** Maps whatever the socket or the body stream threw into a ProviderError or CallerAbortError. */
  translate(err: unknown, provider: string): Error {
    if (this.reason) return this.reason;
    if (err instanceof ProviderError || err instanceof CallerAbortError) return err;
    return networkError(err, provider);
  }
}

function networkError(err: unknown, provider: string): ProviderError {
  const cause = (err as { cause?: { code?: string; message?: string } })?.cause;
  const code = (err as { code?: string })?.code ?? cause?.code;
  const detail = code ?? cause?.message ?? (err instanceof Error ? err.message : 'network error');
  return new ProviderError({ kind: 'upstream_error', provider, message: `connection to upstream failed (${detail})`, cause: err });
}

/** The body as UTF-8 text, through a decompressor when the upstream used a content coding. */
function textBody(res: IncomingMessage): Readable {
  const coding = String(res.headers['content-encoding'] ?? '').trim().toLowerCase();
  const decoder = coding === 'gzip' || coding === 'x-gzip' ? createGunzip() : coding === 'deflate' ? createInflate() : coding === 'br' ? createBrotliDecompress() : undefined;
  const body: Readable = decoder ? pipeline(res, decoder, () => undefined) : res;
  body.setEncoding('utf8');
  return body;
}

async function readText(body: Readable): Promise<string> {
  let text = '';
  for await (const part of body) {
    text += part as string;
    if (text.length > MAX_ERROR_BODY) break;
  }
  return text.slice(0, MAX_ERROR_BODY);
}

/** A Headers-like view of node's header object, for the retry-after parser. */
function headerGetter(headers: IncomingHttpHeaders): { get(name: string): string | null } {
  return {
    get(name) {
      const value = headers[name.toLowerCase()];
      return value === undefined ? null : Array.isArray(value) ? value.join(', ') : value;
    },
  };
}

async function readErrorResponse(res: IncomingMessage, req: UpstreamRequest): Promise<ProviderError> {
  const status = res.statusCode ?? 0;
  let text = '';
  try {
    text = await readText(textBody(res));
  } catch {
    // body lost: classify from the status alone
  }
  let parsed: unknown;
  try {
    parsed = text ? JSON.parse(text) : undefined;
  } catch {
    // not JSON: the reader gets the raw text
  }
  const details = req.readError(status, parsed, text);
  return providerErrorFrom(details, req.provider, classifyStatus(status, details.message), {
    status,
    retryAfterMs: retryAfterMsFromHeaders(headerGetter(res.headers)) ?? details.retryAfterMs,
  });
}

/**
 * The ProviderError for what an adapter read of an error body (HTTP error, or an error object
 * sent inside a 200 or a stream); `fallbackKind` when the body does not say which kind it is.
 */
export function providerErrorFrom(details: ErrorDetails, provider: string, fallbackKind: ErrorKind, extra: Partial<ProviderErrorInit> = {}): ProviderError {
  return new ProviderError({
    kind: details.kind ?? fallbackKind,
    provider,
    message: details.message,
    upstreamCode: details.code,
    retryable: details.retryable,
    retryAfterMs: details.retryAfterMs,
    param: details.param,
    ...extra,
  });
}

/** Sends one request upstream; resolves once a 2xx response's headers are in. */
export function sendUpstream(req: UpstreamRequest): Promise<UpstreamCall> {
  const timeouts = { ...DEFAULT_TIMEOUTS, ...req.ctx.timeouts };
  const guard = new CallGuard(req.ctx, timeouts, req.provider);
  return new Promise<UpstreamCall>((resolve, reject) => {
    let pending = true;
    const fail = (err: unknown) => {
      if (!pending) return;
      pending = false;
      guard.dispose();
      reject(guard.translate(err, req.provider));
    };
    if (guard.stopped) return fail(guard.stopped);
    let request: ClientRequest;
    let secure: boolean;
    let body: string | undefined;
    try {
      const target = requestTarget(req.url);
      secure = target.secure;
      body = req.body === undefined ? undefined : JSON.stringify(req.body);
      const headers: Record<string, string | number> = { 'user-agent': USER_AGENT, ...(body === undefined ? req.headers : { 'content-type': 'application/json', ...req.headers, 'content-length': Buffer.byteLength(body) }) };
      // One options object (no (url, options) pair): Zapier's runtime wraps http.request and reads only the first argument.
      request = (secure ? httpsRequest : httpRequest)({ ...target.options, method: req.method ?? 'POST', headers });
    } catch (err) {
      // A malformed base URL or header: a configuration error, not a network one.
      guard.dispose();
      return reject(err as Error);
    }
    guard.target = request;
    guard.onStop = fail;
    // Once the response is in, socket errors reach the body reader; this listener then only keeps them from crashing.
    request.on('error', fail);
    request.on('socket', (socket: Socket) => guard.watchConnect(socket, secure));
    request.on('response', (res: IncomingMessage) => {
      guard.onStop = undefined;
      guard.headersArrived();
      const status = res.statusCode ?? 0;
      if (status < 200 || status >= 300) {
        readErrorResponse(res, req).then(fail, fail);
        return;
      }
      pending = false;
      const text = textBody(res);
      guard.target = text;
      text.on('error', () => undefined);
      resolve(new UpstreamCall(status, res.headers, res, text, req.provider, guard));
    });
    request.end(body);
  });
}

/** Strips a trailing slash so `${base}/chat/completions` never doubles it. */
export function joinUrl(base: string, path: string): string {
  return `${base.replace(/\/+$/, '')}${path}`;
}
