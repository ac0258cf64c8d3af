import type { EventSourceMessage } from 'eventsource-parser';
import type { UpstreamCall } from '../../src/core/http';
import { ProviderError } from '../../src/core/errors';
import type { ChatChunk } from '../../src/core/schema';
import type { ReadyIterator } from '../../src/core/ready';
import { eventChunks, STREAM_END, type EventToChunk } from '../../src/providers/event-chunks';
import { collect } from '../helpers/fixtures';

/** An upstream call whose events are `data`; records what the reader did with it. */
function fakeCall(data: string[], opts: { failAfter?: number } = {}) {
  const log: string[] = [];
  let i = 0;
  const take = (): IteratorResult<EventSourceMessage> => {
    if (opts.failAfter !== undefined && i === opts.failAfter) throw new ProviderError({ kind: 'upstream_error', provider: 'p', message: 'connection reset' });
    return i < data.length ? { done: false, value: { data: data[i++]!, event: undefined, id: undefined } } : { done: true, value: undefined };
  };
  // Like UpstreamCall.events(): every event is already read, so ready() has them all.
  const events: ReadyIterator<EventSourceMessage> = {
    [Symbol.asyncIterator]() {
      return this;
    },
    async next() {
      return take();
    },
    ready: take,
    async return() {
      log.push('events closed');
      return { done: true, value: undefined };
    },
  };
  const call = { events: () => events, cancel: () => log.push('cancelled') } as unknown as UpstreamCall;
  return { call, log };
}

const chunk = (text: string): ChatChunk => ({ id: 'c', object: 'chat.completion.chunk', created: 1, model: 'm', choices: [{ index: 0, delta: { content: text }, finish_reason: null, logprobs: null }] });
const toChunk: EventToChunk = (e) => (e.data === 'END' ? STREAM_END : e.data === 'ping' ? undefined : e.data === 'bad' ? (() => { throw new Error('bad event'); })() : chunk(e.data));
const texts = (chunks: ChatChunk[]) => chunks.map((c) => c.choices[0]!.delta.content);

describe('eventChunks', () => {
  it('opens on the first read, skips what the reader skips, and releases the call once at the terminal event', async () => {
    const { call, log } = fakeCall(['a', 'ping', 'b', 'END', 'after']);
    let opened = 0;
    const chunks = eventChunks(async () => (opened++, call), toChunk, 'p', 'END');
    expect(opened).toBe(0);
    expect(texts(await collect(chunks))).toEqual(['a', 'b']);
    expect(opened).toBe(1);
    expect(log).toEqual(['events closed', 'cancelled']);
  });

  it('reads asked for before the request answered wait for it: one request, chunks in order', async () => {
    const { call } = fakeCall(['a', 'b', 'END']);
    let opened = 0;
    const it = eventChunks(async () => (opened++, call), toChunk, 'p', 'END');
    const [first, second] = await Promise.all([it.next(), it.next()]);
    expect(opened).toBe(1);
    expect([first.value, second.value]).toEqual([chunk('a'), chunk('b')]);
  });

  it('a body that ends before the terminal event is an error naming it', async () => {
    const { call, log } = fakeCall(['a']);
    await expect(collect(eventChunks(async () => call, toChunk, 'p', 'END'))).rejects.toMatchObject({ kind: 'upstream_error', provider: 'p', message: 'stream ended before END: the answer may be truncated' });
    expect(log).toContain('cancelled');
  });

  it('an event the reader rejects, or a failed read, ends the stream with that error and releases the call', async () => {
    const bad = fakeCall(['a', 'bad', 'b']);
    await expect(collect(eventChunks(async () => bad.call, toChunk, 'p', 'END'))).rejects.toThrow('bad event');
    expect(bad.log).toEqual(['events closed', 'cancelled']);
    const cut = fakeCall(['a', 'b'], { failAfter: 1 });
    await expect(collect(eventChunks(async () => cut.call, toChunk, 'p', 'END'))).rejects.toThrow('connection reset');
    expect(cut.log).toContain('cancelled');
  });

  it('ready(): events already read become chunks without waiting, skipped ones passed over; the terminal event ends and releases', async () => {
    const { call, log } = fakeCall(['a', 'ping', 'b', 'END', 'after']);
    const it = eventChunks(async () => call, toChunk, 'p', 'END');
    expect(it.ready()).toBeUndefined(); // not opened yet: only next() sends the request
    expect((await it.next()).value).toEqual(chunk('a'));
    expect(it.ready()).toEqual({ done: false, value: chunk('b') });
    expect(log).toEqual([]);
    expect(it.ready()).toEqual({ done: true, value: undefined });
    expect(log).toEqual(['events closed', 'cancelled']);
  });

  it('ready(): an event the reader rejects, or a failed read, is thrown and releases the call', async () => {
    const bad = fakeCall(['a', 'bad']);
    const it = eventChunks(async () => bad.call, toChunk, 'p', 'END');
    await it.next();
    expect(() => it.ready()).toThrow('bad event');
    expect(bad.log).toEqual(['events closed', 'cancelled']);
    expect(it.ready()).toEqual({ done: true, value: undefined });
    const cut = fakeCall(['a', 'b'], { failAfter: 1 });
    const it2 = eventChunks(async () => cut.call, toChunk, 'p', 'END');
    await it2.next();
    expect(() => it2.ready()).toThrow('connection reset');
    expect(cut.log).toContain('cancelled');
  });

  it('a failed request rejects the first read and later reads are done', async () => {
    const it = eventChunks(() => Promise.reject(new Error('refused')), toChunk, 'p', 'END')[Symbol.asyncIterator]();
    await expect(it.next()).rejects.toThrow('refused');
    await expect(it.next()).resolves.toEqual({ done: true, value: undefined });
  });

  it('a consumer that stops mid-stream releases the call, and reads nothing more', async () => {
    const { call, log } = fakeCall(['a', 'b', 'c', 'END']);
    const it = eventChunks(async () => call, toChunk, 'p', 'END')[Symbol.asyncIterator]();
    expect((await it.next()).value).toEqual(chunk('a'));
    await it.return!();
    expect(log).toEqual(['events closed', 'cancelled']);
    await expect(it.next()).resolves.toEqual({ done: true, value: undefined });
  });

  it('a consumer that stops while the request is on its way releases the call when it arrives', async () => {
    const { call, log } = fakeCall(['a', 'END']);
    let arrive!: (c: UpstreamCall) => void;
    const it = eventChunks(() => new Promise<UpstreamCall>((r) => (arrive = r)), toChunk, 'p', 'END')[Symbol.asyncIterator]();
    const first = it.next();
    await it.return!();
    arrive(call);
    await expect(first).resolves.toEqual({ done: true, value: undefined });
    expect(log).toEqual(['events closed', 'cancelled']);
  });
});
