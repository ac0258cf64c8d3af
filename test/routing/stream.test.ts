import { GatewayError, ProviderError } from '../../src/core/errors';
import type { ChatChunk } from '../../src/core/schema';
import { collect } from '../helpers/fixtures';
import { model, textOf } from './helpers/fakes';
import { simulate } from './helpers/setup';

const overloaded = { kind: 'error' as const, error: { kind: 'overloaded' as const, status: 503, message: 'overloaded' } };

/** Collects what a consumer received before the stream failed, and the failure. */
async function drain(chunks: AsyncIterable<ChatChunk>): Promise<{ got: ChatChunk[]; error?: unknown }> {
  const got: ChatChunk[] = [];
  try {
    for await (const c of chunks) got.push(c);
    return { got };
  } catch (error) {
    return { got, error };
  }
}

describe('routed streaming', () => {
  it('relays the stream, with the usage chunk, and resolves the story with cost at the end', async () => {
    const models = [model('a/m', { pricing: { input: 2, cached_input: 1, output: 8 } }), model('b/m')];
    const { sy, run, req } = simulate({ models });
    const s = await run(sy.stream(req(['a/m'])));
    expect(s).toMatchObject({ model: 'a/m', provider: 'a' });
    const chunks = await run(collect(s.chunks));
    expect(textOf(chunks)).toBe('answer from a');
    expect(chunks.at(-1)).toMatchObject({ choices: [], usage: { prompt_tokens: 100, completion_tokens: 20 } });
    const story = await s.story;
    expect(story.usageEstimated).toBeUndefined();
    expect(story).toMatchObject({ model: 'a/m', cached: false, usage: { prompt_tokens: 100 }, pricing: { input: 2, output: 8 } });
    expect(story.costUsd).toBe((100 * 2 + 20 * 8) / 1e6);
    expect(story.attempts).toEqual([expect.objectContaining({ key: 'a/m', outcome: 'ok' })]);
  });

  it('a failure before the first content falls back transparently: the caller sees only B', async () => {
    const { sy, a, run, req } = simulate({ config: { routing: { retries_per_model: 0 } } });
    a.always(overloaded);
    const s = await run(sy.stream(req()));
    expect(s.model).toBe('b/m');
    const chunks = await run(collect(s.chunks));
    expect(chunks.every((c) => c.id.startsWith('b-'))).toBe(true); // not even A's role chunk leaked
    expect(textOf(chunks)).toBe('answer from b');
    const story = await s.story;
    expect(story.attempts.map((x) => `${x.key} ${x.outcome}`)).toEqual(['a/m overloaded', 'b/m ok']);
    expect(a.calls[0]!.req.stream).toBe(true);
  });

  it('abandons an upstream with no first token within max_ttft_ms and tries the next', async () => {
    const { sy, a, b, clock, run, req } = simulate();
    a.always({ kind: 'ok', ttftMs: 5_000 });
    b.always({ kind: 'ok', ttftMs: 200 });
    const t0 = clock.now();
    const s = await run(sy.stream(req(['a/m', 'b/m'], { routing: { max_ttft_ms: 1_000 } })));
    expect(clock.now() - t0).toBe(1_200);
    expect(s.model).toBe('b/m');
    expect(a.calls[0]!.ctx.signal?.aborted).toBe(true);
    await run(collect(s.chunks));
    const story = await s.story;
    expect(story.attempts[0]).toMatchObject({ key: 'a/m', outcome: 'timeout', message: expect.stringMatching(/no first token within 1000 ms/) });
    expect(story.ttftMs).toBe(1_200);
    expect(story.attempts[1]).toMatchObject({ key: 'b/m', outcome: 'ok', ttftMs: 200 });
    // Abandoned for slowness: it counts against A's health, and it was not retried on A.
    expect(a.calls).toHaveLength(1);
    expect(sy.health().find((h) => h.key === 'a/m')).toMatchObject({ consecutiveFailures: 1 });
  });

  it('uses the configured max_ttft_ms by default', async () => {
    const { sy, a, run, req } = simulate({ config: { routing: { max_ttft_ms: 500 } } });
    a.always({ kind: 'ok', ttftMs: 600 });
    const s = await run(sy.stream(req()));
    expect(s.model).toBe('b/m');
  });

  it('a cut after content is an error with partial: true, and nothing is sent twice', async () => {
    const { sy, a, b, c, run, req } = simulate();
    a.always({ kind: 'cut', afterPieces: 2 });
    const s = await run(sy.stream(req(['a/m', 'b/m', 'c/m'])));
    const { got, error } = await run(drain(s.chunks));
    expect(textOf(got)).toBe('partial answer from a');
    expect(error).toBeInstanceOf(ProviderError);
    expect(error).toMatchObject({ partial: true, retryable: false, kind: 'upstream_error', message: expect.stringMatching(/^stream interrupted after content was sent/) });
    expect(a.calls.length + b.calls.length + c.calls.length).toBe(1);
    const story = await s.story;
    expect(story.attempts.map((x) => x.outcome)).toEqual(['upstream_error']);
    expect(sy.health().find((h) => h.key === 'a/m')).toMatchObject({ consecutiveFailures: 1 });
    // No usage was reported: what was sent is charged on an estimate (21 characters at 3.5 per token).
    expect(story).toMatchObject({ usageEstimated: true, usage: { completion_tokens: 6 } });
    const prompt = story.usage!.prompt_tokens;
    expect(prompt).toBeGreaterThan(0);
    expect(story.costUsd).toBe((prompt * 1 + 6 * 2) / 1e6);
  });

  it('a stream that ends without a finish_reason after content is an error, never a clean end', async () => {
    const { sy, a, b, run, req } = simulate();
    a.always({ kind: 'unfinished', afterPieces: 2 });
    const s = await run(sy.stream(req()));
    const { got, error } = await run(drain(s.chunks));
    expect(textOf(got)).toContain('partial answer from a');
    expect(error).toBeInstanceOf(ProviderError);
    expect(error).toMatchObject({ partial: true, kind: 'upstream_error', message: expect.stringMatching(/without a finish_reason/) });
    expect(b.calls).toHaveLength(0);
    expect((await s.story).attempts.map((x) => x.outcome)).toEqual(['upstream_error']);
  });

  it('a stream that ends without content or finish_reason falls back unseen', async () => {
    const { sy, a, run, req } = simulate({ config: { routing: { retries_per_model: 0 } } });
    a.always({ kind: 'unfinished', afterPieces: 0 });
    const s = await run(sy.stream(req()));
    expect(s.model).toBe('b/m');
    const chunks = await run(collect(s.chunks));
    expect(chunks.every((c) => c.id.startsWith('b-'))).toBe(true);
    expect((await s.story).attempts.map((x) => `${x.key} ${x.outcome}`)).toEqual(['a/m upstream_error', 'b/m ok']);
  });

  it('the deadline also bounds a stream in progress', async () => {
    const { sy, a, clock, run, req } = simulate();
    a.always({ kind: 'ok', ttftMs: 10, pieces: 5, gapMs: 200 });
    const t0 = clock.now();
    const s = await run(sy.stream(req(), { deadlineMs: 500 }));
    const { got, error } = await run(drain(s.chunks));
    expect(clock.now() - t0).toBe(500);
    expect(got.length).toBeGreaterThan(1);
    expect(error).toMatchObject({ partial: true, kind: 'timeout' });
    expect(a.calls[0]!.ctx.signal?.aborted).toBe(true);
  });

  it('a consumer that stops reading aborts the upstream and the story says so', async () => {
    const { sy, a, run, req } = simulate();
    a.always({ kind: 'ok', pieces: 4 });
    const s = await run(sy.stream(req()));
    for await (const chunk of s.chunks) if (chunk.choices[0]?.delta.content) break;
    const story = await s.story;
    expect(story.attempts).toEqual([expect.objectContaining({ key: 'a/m', outcome: 'aborted' })]);
    expect(a.calls[0]!.ctx.signal?.aborted).toBe(true);
    // Walking away does not make the answer free: the prompt and the piece read are charged.
    expect(story.usageEstimated).toBe(true);
    expect(story.usage!.completion_tokens).toBeGreaterThan(0);
    expect(story.costUsd).toBeGreaterThan(0);
  });

  it('a caller abort mid-stream ends the chunks with a 499 and no other attempt', async () => {
    const { sy, a, b, clock, run, req } = simulate();
    a.always({ kind: 'ok', pieces: 5, gapMs: 100 });
    const ac = new AbortController();
    const s = await run(sy.stream(req(), { signal: ac.signal }));
    void clock.sleep(150).then(() => ac.abort());
    const { error } = await run(drain(s.chunks));
    expect(error).toBeInstanceOf(GatewayError);
    expect(error).toMatchObject({ status: 499 });
    expect(b.calls).toHaveLength(0);
    expect((await s.story).attempts[0]!.outcome).toBe('aborted');
  });

  it('every candidate failing before content rejects stream() with a GatewayError', async () => {
    const { sy, a, b, run, req } = simulate({ config: { routing: { retries_per_model: 0 } } });
    a.always(overloaded);
    b.always(overloaded);
    await expect(run(sy.stream(req()))).rejects.toMatchObject({ status: 503, message: expect.stringMatching(/^all 2 attempts failed/) });
  });

  it('plans streaming requests only onto models that can stream', () => {
    const models = [model('a/m', { capabilities: { tools: true, json_schema: true, vision: false, streaming: false } }), model('b/m')];
    const { sy, req } = simulate({ models });
    expect(sy.plan({ ...req(), stream: true }).candidates.map((x) => x.key)).toEqual(['b/m']);
  });
});
