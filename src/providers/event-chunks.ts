import type { EventSourceMessage } from 'eventsource-parser';
import { ProviderError } from '../core/errors';
import type { UpstreamCall } from '../core/http';
import { FINISHED, nextIfReady, readyResult, type ReadyIterator } from '../core/ready';
import type { ChatChunk } from '../core/schema';

/** What an adapter's event reader returns at the provider's terminal event ([DONE], message_stop). */
export const STREAM_END = Symbol('stream end');

/** One event as a chunk, undefined to skip it, STREAM_END at the terminal event; throws on an error event. */
export type EventToChunk = (event: EventSourceMessage) => ChatChunk | undefined | typeof STREAM_END;

/**
 * An adapter's stream: `open` sends the request on the first next(), then each event of the
 * answer goes through `toChunk`. The call is released (cancel(): drained back to the pool, or
 * closed) at the terminal event, on any failure and when the consumer stops. A body that ends
 * before the terminal event is an error: the answer may be truncated.
 *
 * Hand-written rather than an async generator: a generator awaits every value it yields and
 * queues each next(); on the stream bench the router's generator relay alone cost ~1.5 us of CPU
 * per chunk (src/core/routing/stream.ts has the same change).
 */
class EventChunks implements ReadyIterator<ChatChunk> {
  private call?: UpstreamCall;
  private events?: AsyncIterator<EventSourceMessage>;
  /** The request on its way: reads made before it answers wait for it (one request, however many reads). */
  private opening?: Promise<void>;
  private done = false;

  constructor(
    private readonly open: () => Promise<UpstreamCall>,
    private readonly toChunk: EventToChunk,
    private readonly provider: string,
    private readonly terminalEvent: string,
  ) {}

  [Symbol.asyncIterator](): this {
    return this;
  }

  next(): Promise<IteratorResult<ChatChunk>> {
    if (this.events) return nextIfReady(this) ?? this.events.next().then(this.onEvent, this.onFailure);
    if (this.done) return Promise.resolve(FINISHED);
    this.opening ??= this.open().then((call) => {
      this.call = call;
      this.events = call.events();
      // The consumer stopped while the request was on its way.
      if (this.done) this.release();
    });
    return this.opening.then(() => this.next(), this.onFailure);
  }

  /** The next chunk of the events already read (skipped events passed over), or undefined. */
  ready(): IteratorResult<ChatChunk> | undefined {
    if (this.done) return FINISHED;
    if (!this.events) return undefined;
    for (;;) {
      let event: IteratorResult<EventSourceMessage> | undefined;
      try {
        event = readyResult(this.events);
      } catch (err) {
        this.finish();
        throw err;
      }
      if (!event) return undefined;
      const result = this.step(event);
      if (result) return result;
    }
  }

  return(): Promise<IteratorResult<ChatChunk>> {
    if (!this.done) this.finish();
    return Promise.resolve(FINISHED);
  }

  /** One event read: its chunk, FINISHED at the end, undefined for an event without one. */
  private step(r: IteratorResult<EventSourceMessage>): IteratorResult<ChatChunk> | undefined {
    if (this.done) return FINISHED;
    try {
      if (r.done) throw new ProviderError({ kind: 'upstream_error', provider: this.provider, message: `stream ended before ${this.terminalEvent}: the answer may be truncated` });
      const chunk = this.toChunk(r.value);
      if (chunk === STREAM_END) {
        this.finish();
        return FINISHED;
      }
      return chunk === undefined ? undefined : { done: false, value: chunk };
    } catch (err) {
      this.finish();
      throw err;
    }
  }

  private readonly onEvent = (r: IteratorResult<EventSourceMessage>): IteratorResult<ChatChunk> | Promise<IteratorResult<ChatChunk>> => this.step(r) ?? this.next();

  private readonly onFailure = (err: unknown): never => {
    this.finish();
    throw err;
  };

  private finish(): void {
    this.done = true;
    this.release();
  }

  private release(): void {
    this.events?.return?.()?.catch(() => undefined);
    this.call?.cancel();
  }
}

/**
 * `terminalEvent` names the event that ends a complete answer, for the error when it never came.
 * Single-use, like the generator it replaces: `toChunk` may keep state across one stream's events.
 */
export function eventChunks(open: () => Promise<UpstreamCall>, toChunk: EventToChunk, provider: string, terminalEvent: string): ReadyIterator<ChatChunk> {
  return new EventChunks(open, toChunk, provider, terminalEvent);
}
