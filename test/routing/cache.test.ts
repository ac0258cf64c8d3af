import { VirtualClock } from '../../src/core/clock';
import { CacheConfigSchema } from '../../src/core/config';
import { ResponseCache, cacheKey, stableStringify } from '../../src/core/routing/cache';
import { StreamAssembler, responseToChunks } from '../../src/core/routing/chunks';
import { costUsd } from '../../src/core/routing/cost';
import type { ChatResponse } from '../../src/core/schema';
import type { RoutedChatRequest } from '../../src/core/routing/types';

const req: RoutedChatRequest = { model: 'auto', messages: [{ role: 'user', content: 'hi' }], temperature: 0 };
const answer: ChatResponse = {
  id: 'x',
  object: 'chat.completion',
  created: 1,
  model: 'm',
  choices: [{ index: 0, message: { role: 'assistant', content: 'hello', refusal: null }, finish_reason: 'stop', logprobs: null }],
  usage: { prompt_tokens: 3, completion_tokens: 1, total_tokens: 4 },
};

describe('cache key', () => {
  it('ignores key order, transport fields, the cache flag and time budgets', () => {
    const k = cacheKey(req);
    expect(cacheKey({ temperature: 0, messages: req.messages, model: 'auto' })).toBe(k);
    expect(cacheKey({ ...req, stream: true, stream_options: { include_usage: true }, user: 'u1' })).toBe(k);
    expect(cacheKey({ ...req, routing: { cache: true, max_ttft_ms: 500, max_latency_ms: 900 } })).toBe(cacheKey({ ...req, routing: {} }));
  });

  it('separates everything that can change the answer', () => {
    const k = cacheKey(req);
    expect(cacheKey({ ...req, temperature: 0.5 })).not.toBe(k);
    expect(cacheKey({ ...req, model: 'auto:cost' })).not.toBe(k);
    expect(cacheKey({ ...req, models: ['a/x', 'b/y'] })).not.toBe(cacheKey({ ...req, models: ['b/y', 'a/x'] }));
    expect(cacheKey({ ...req, routing: { prefer: 'quality' } })).not.toBe(cacheKey({ ...req, routing: { prefer: 'cost' } }));
    expect(cacheKey({ ...req, messages: [{ role: 'user', content: 'hi!' }] })).not.toBe(k);
  });

  it('stable JSON sorts keys at every depth', () => {
    expect(stableStringify({ b: 1, a: { d: [1, { z: 1, y: 2 }], c: null } })).toBe('{"a":{"c":null,"d":[1,{"y":2,"z":1}]},"b":1}');
  });
});

describe('ResponseCache', () => {
  const config = CacheConfigSchema.parse({ max_entries: 2, ttl_ms: 1_000 });

  it('is opt-in per request, or for temperature 0 when configured', () => {
    const off = new ResponseCache(config, new VirtualClock());
    expect(off.wants(req)).toBe(false);
    expect(off.wants({ ...req, routing: { cache: true } })).toBe(true);
    const t0 = new ResponseCache({ ...config, temperature_zero: true }, new VirtualClock());
    expect(t0.wants(req)).toBe(true);
    expect(t0.wants({ ...req, temperature: 0.2 })).toBe(false);
    expect(t0.wants({ ...req, routing: { cache: false } })).toBe(false);
  });

  it('expires entries after the TTL on the injected clock and evicts the least recently used', async () => {
    const clock = new VirtualClock();
    const cache = new ResponseCache(config, clock);
    cache.set('a', { response: answer, model: 'p/m', provider: 'p' });
    await clock.advance(999);
    expect(cache.get('a')?.model).toBe('p/m');
    await clock.advance(2);
    expect(cache.get('a')).toBeUndefined();
    cache.set('a', { response: answer, model: 'p/m', provider: 'p' });
    cache.set('b', { response: answer, model: 'p/m', provider: 'p' });
    cache.get('a');
    cache.set('c', { response: answer, model: 'p/m', provider: 'p' });
    expect(cache.get('b')).toBeUndefined();
    expect(cache.get('a')).toBeDefined();
  });

  it('hands out copies, so a caller cannot change what is stored', () => {
    const cache = new ResponseCache(config, new VirtualClock());
    cache.set('a', { response: answer, model: 'p/m', provider: 'p' });
    const hit = cache.get('a');
    hit!.response.choices[0]!.message.content = 'changed';
    expect(cache.get('a')?.response.choices[0]?.message.content).toBe('hello');
  });
});

describe('stream assembly and replay', () => {
  it('replays an answer as chunks that assemble back into the same answer', () => {
    const withTools: ChatResponse = {
      ...answer,
      choices: [
        {
          index: 0,
          message: { role: 'assistant', content: null, refusal: null, tool_calls: [{ id: 'c1', type: 'function', function: { name: 'f', arguments: '{"a":1}' } }] },
          finish_reason: 'tool_calls',
          logprobs: null,
        },
      ],
    };
    for (const r of [answer, withTools]) {
      const asm = new StreamAssembler();
      for (const c of responseToChunks(r)) asm.add(c);
      expect(asm.response()).toEqual(r);
    }
  });

  it('has no answer until every choice finished', () => {
    const asm = new StreamAssembler();
    const chunks = responseToChunks(answer);
    for (const c of chunks.slice(0, 2)) asm.add(c);
    expect(asm.response()).toBeUndefined();
  });
});

describe('costUsd', () => {
  it('prices prompt, cached prompt and completion tokens per million', () => {
    const usage = { prompt_tokens: 1_000, completion_tokens: 500, total_tokens: 1_500, prompt_tokens_details: { cached_tokens: 200 } };
    expect(costUsd({ input: 2, cached_input: 1, output: 8 }, usage)).toBe(0.0058);
    expect(costUsd({ input: 2, output: 8 }, usage)).toBe(0.006);
    expect(costUsd({ input: 0.1, output: 0.4 }, { prompt_tokens: 1, completion_tokens: 1, total_tokens: 2 })).toBe(0.0000005);
    expect(costUsd({ input: 2, output: 8 }, undefined)).toBe(0);
  });

  it('prices prompt tokens written to a prompt cache at cache_write_input (the input price when unknown)', () => {
    const usage = { prompt_tokens: 1_000, completion_tokens: 0, total_tokens: 1_000, prompt_tokens_details: { cached_tokens: 200, cache_write_tokens: 300 } };
    // 500 plain at 2, 200 read at 1, 300 written at 2.5
    expect(costUsd({ input: 2, cached_input: 1, cache_write_input: 2.5, output: 8 }, usage)).toBe(0.00195);
    expect(costUsd({ input: 2, cached_input: 1, output: 8 }, usage)).toBe(0.0018);
  });
});
