import { ProviderError } from '../errors';
import { FINISHED, nextIfReady, readyResult, type ReadyIterator } from '../ready';
import type { ChatChunk, ChatResponse, Usage } from '../schema';
import { callerAbortedError, type AttemptHandle, type AttemptResult, type CallState } from './attempt';
import { StreamAssembler, hasContent } from './chunks';
import { runCandidates, upstreamRequest, type Engine } from './executor';
import { buildStory } from './story';
import { estimatePromptTokens, estimateTextTokens } from './tokens';
import type { CatalogModel, Plan, RouteStory, RoutedChatRequest, RoutedStream } from './types';

const noop = () => undefined;

interface OpenedStream {
  iterator: AsyncIterator<ChatChunk>;
  /** Chunks read up to and including the first one with content. */
  buffered: ChatChunk[];
  assembler: StreamAssembler;
  /** The upstream finished before any content (an empty answer). */
  ended: boolean;
  /** The complete answer, when it ended. */
  answer?: ChatResponse;
}

export interface StreamHooks {
  /** Called once when the stream is over; `answer` is the assembled response when it completed. */
  onDone(story: RouteStory, answer: ChatResponse | undefined): void;
}

function closeQuietly(iterator: AsyncIterator<ChatChunk>): void {
  try {
    iterator.return?.()?.catch(noop);
  } catch {
    // a generator that is still running rejects return() synchronously on some engines
  }
}

/**
 * Adapters must throw when a stream ends without its terminal event; this catches any that do not
 * (or an upstream that sends [DONE] after a cut): an answer whose choice never finished is not complete.
 */
function finishedAnswer(assembler: StreamAssembler, provider: string): ChatResponse {
  const answer = assembler.response();
  if (answer) return answer;
  throw new ProviderError({ kind: 'upstream_error', provider, message: 'stream ended without a finish_reason: the answer may be truncated' });
}

/**
 * What a stream without reported usage is charged (the caller went away, the upstream died, or
 * the server never reports usage): the prompt estimate plan() priced, plus the text generated so
 * far. Without it, cutting a stream short would make an answer free and budgets could be dodged.
 */
function estimatedUsage(request: RoutedChatRequest, model: CatalogModel, assembler: StreamAssembler): Usage {
  const prompt = estimatePromptTokens(request, model);
  const completion = estimateTextTokens(assembler.generatedText(), model);
  return { prompt_tokens: prompt, completion_tokens: completion, total_tokens: prompt + completion };
}

/** Reads until the first chunk with content: until then a failure can still fall back unseen. */
async function openStream(handle: AttemptHandle, request: RoutedChatRequest): Promise<OpenedStream> {
  const req = { ...upstreamRequest(request, handle.model), stream: true };
  const iterator = handle.runtime.adapter.stream(req, handle.context())[Symbol.asyncIterator]();
  handle.startTtftTimer();
  const buffered: ChatChunk[] = [];
  const assembler = new StreamAssembler();
  try {
    for (;;) {
      const r = await handle.race(iterator.next());
      if (r.done) {
        return { iterator, buffered, assembler, ended: true, answer: finishedAnswer(assembler, handle.model.provider) };
      }
      buffered.push(r.value);
      assembler.add(r.value);
      if (hasContent(r.value)) {
        handle.markFirstToken();
        return { iterator, buffered, assembler, ended: false };
      }
    }
  } catch (err) {
    closeQuietly(iterator);
    throw err;
  }
}

/** After content reached the caller, a failure is reported, never retried and never a silent end. */
export function partialError(err: ProviderError): ProviderError {
  return new ProviderError({
    kind: err.kind,
    provider: err.provider,
    status: err.status,
    message: `stream interrupted after content was sent: ${err.message}`,
    retryable: false,
    retryAfterMs: err.retryAfterMs,
    upstreamCode: err.upstreamCode,
    partial: true,
    cause: err,
  });
}

/** What the relay of a chosen upstream does at each step (executeStream's state lives there). */
interface RelaySteps {
  /** The upstream's next chunk, raced against the attempt's abort. */
  read(): Promise<IteratorResult<ChatChunk>>;
  /** The upstream's next chunk if it is at hand now and the attempt was not aborted, else undefined. */
  readReady(): IteratorResult<ChatChunk> | undefined;
  /** A chunk read from the upstream. */
  chunk(chunk: ChatChunk): void;
  /** The upstream ended; throws when its answer is incomplete. */
  end(): void;
  /** Reading failed: settles, and returns what the consumer gets thrown. */
  fail(err: unknown): Error;
  /** The consumer stopped reading before the end. */
  stop(): void;
}

/**
 * The chunks of a routed stream: those read before it was chosen, then the rest of its upstream.
 * Hand-written rather than an async generator, which awaits every value it yields and queues each
 * request: allocation sampling under stream load put ~800 bytes per chunk in the generator relay.
 */
class Relay implements ReadyIterator<ChatChunk> {
  /** A read of the upstream is in flight (an abort then reaches the consumer through it). */
  reading = false;
  private index = 0;
  private done = false;

  /** `ended`: the upstream ended while the first chunks were read (the buffered chunks are all). */
  constructor(
    private readonly buffered: ChatChunk[],
    private readonly ended: boolean,
    private readonly steps: RelaySteps,
  ) {}

  [Symbol.asyncIterator](): this {
    return this;
  }

  next(): Promise<IteratorResult<ChatChunk>> {
    const atHand = nextIfReady(this);
    if (atHand) return atHand;
    this.reading = true;
    return this.steps.read().then(this.onRead, this.onFailure);
  }

  ready(): IteratorResult<ChatChunk> | undefined {
    if (this.index < this.buffered.length) return { done: false, value: this.buffered[this.index++]! };
    if (this.done || this.ended) return FINISHED;
    if (this.reading) return undefined;
    let result: IteratorResult<ChatChunk> | undefined;
    try {
      result = this.steps.readReady();
    } catch (err) {
      return this.onFailure(err);
    }
    return result && this.onRead(result);
  }

  return(): Promise<IteratorResult<ChatChunk>> {
    this.done = true;
    this.steps.stop();
    return Promise.resolve(FINISHED);
  }

  private readonly onRead = (r: IteratorResult<ChatChunk>): IteratorResult<ChatChunk> => {
    this.reading = false;
    try {
      if (r.done) {
        this.done = true;
        this.steps.end();
        return FINISHED;
      }
      this.steps.chunk(r.value);
      return r;
    } catch (err) {
      this.done = true;
      throw this.steps.fail(err);
    }
  };

  private readonly onFailure = (err: unknown): never => {
    this.reading = false;
    this.done = true;
    throw this.steps.fail(err);
  };
}

/**
 * Routed streaming call: resolves once an upstream produced content (earlier failures fall back
 * transparently). The returned chunks relay the rest of that one upstream; `story` resolves when
 * the stream is over, whatever way it ended.
 */
export async function executeStream(engine: Engine, call: CallState, request: RoutedChatRequest, plan: Plan, hooks: StreamHooks): Promise<RoutedStream> {
  const { value, handle } = await runCandidates(engine, call, request, plan, (h) => openStream(h, request));
  const { iterator, buffered, assembler } = value;
  let resolveStory!: (story: RouteStory) => void;
  const story = new Promise<RouteStory>((resolve) => (resolveStory = resolve));
  const ttftMs = handle.ttftMs === undefined ? undefined : handle.startedAt - call.startedAt + handle.ttftMs;
  let settled = false;

  /** `answer` is the complete answer when the stream completed. */
  const settle = (result: AttemptResult, answer?: ChatResponse) => {
    if (settled) return;
    settled = true;
    const reported = assembler.usage;
    handle.finish('ok' in result ? { ok: true, outputTokens: reported?.completion_tokens } : result);
    const usage = reported ?? estimatedUsage(request, handle.model, assembler);
    const s = buildStory({ requestedModel: request.model, plan, call, model: handle.model, usage, usageEstimated: !reported, ttftMs });
    hooks.onDone(s, answer);
    resolveStory(s);
  };

  if (value.ended) settle({ ok: true }, value.answer);
  const relay = new Relay(buffered, value.ended, {
    read: () => handle.race(iterator.next()),
    readReady: () => (handle.controller.signal.aborted ? undefined : readyResult(iterator)),
    chunk: (chunk) => assembler.add(chunk),
    end: () => settle({ ok: true }, finishedAnswer(assembler, handle.model.provider)),
    fail: (err) => {
      const result = handle.classify(err);
      settle(result);
      closeQuietly(iterator);
      return 'aborted' in result ? callerAbortedError() : partialError(result.error);
    },
    stop: () => {
      if (settled) return;
      // The consumer stopped reading (return() on the chunks): finishing aborts the upstream too.
      settle({ aborted: 'the consumer stopped reading' });
      closeQuietly(iterator);
    },
  });
  // Deadline or caller abort while nobody is waiting on the upstream: release it now.
  handle.controller.signal.addEventListener(
    'abort',
    () => {
      if (relay.reading || settled) return;
      settle(handle.classify(handle.controller.signal.reason));
      closeQuietly(iterator);
    },
    { once: true },
  );

  return { model: handle.model.key, provider: handle.model.provider, attempts: call.attempts.length + 1, cached: false, chunks: relay, story };
}
