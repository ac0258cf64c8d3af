import { contentDeltaChunk } from '../../src/providers/openai-content-delta';

const TIERS: ReadonlySet<string> = new Set(['auto', 'default', 'flex', 'scale', 'priority']);
const head = { id: 'chatcmpl-B9MBs8CjcvOU2jLn4n570S5qMJKcT', object: 'chat.completion.chunk', created: 1741569952, model: 'gpt-4.1-2025-04-14' };
const choice = (content: unknown) => [{ index: 0, delta: { content }, logprobs: null, finish_reason: null }];

describe('contentDeltaChunk', () => {
  // Each is what JSON.stringify writes, i.e. the exact text OpenAI-shaped servers send.
  it.each([
    ['plain', { ...head, choices: choice('Hello') }],
    ['OpenAI with tier, fingerprint and obfuscation', { ...head, service_tier: 'default', system_fingerprint: 'fp_3f58d112f7', choices: choice(' world'), obfuscation: 'k9Xz' }],
    ['fingerprint only (Groq, DeepSeek)', { ...head, system_fingerprint: 'fp_mock', choices: choice(' there') }],
    ['empty text', { ...head, choices: choice('') }],
    ['non-ASCII text', { ...head, choices: choice('¿Cómo estás? 👋') }],
    ['created 0', { ...head, created: 0, choices: choice('x') }],
  ])('reads a %s content delta exactly as JSON.parse does', (_name, event) => {
    const data = JSON.stringify(event);
    const chunk = contentDeltaChunk(data, TIERS);
    expect(chunk).toStrictEqual(JSON.parse(data));
    expect(JSON.stringify(chunk)).toBe(data);
  });

  it.each([
    ['text with an escape', JSON.stringify({ ...head, choices: choice('line\nbreak') })],
    ['text with a quote', JSON.stringify({ ...head, choices: choice('say "hi"') })],
    ['a unicode escape', JSON.stringify({ ...head, choices: choice('x') }).replace('"content":"x"', '"content":"\\u00e9"')],
    ['a raw control character (invalid JSON)', JSON.stringify({ ...head, choices: choice('x') }).replace('"content":"x"', '"content":"a\u0001b"')],
    ['the role delta', JSON.stringify({ ...head, choices: [{ index: 0, delta: { role: 'assistant', content: '' }, logprobs: null, finish_reason: null }] })],
    ['a finish', JSON.stringify({ ...head, choices: [{ index: 0, delta: {}, logprobs: null, finish_reason: 'stop' }] })],
    ['a content delta with a finish', JSON.stringify({ ...head, choices: [{ index: 0, delta: { content: 'x' }, logprobs: null, finish_reason: 'length' }] })],
    ['a second choice', JSON.stringify({ ...head, choices: [{ index: 1, delta: { content: 'x' }, logprobs: null, finish_reason: null }] })],
    ['two choices', JSON.stringify({ ...head, choices: [...choice('a'), { index: 1, delta: { content: 'b' }, logprobs: null, finish_reason: null }] })],
    ['log probabilities', JSON.stringify({ ...head, choices: [{ index: 0, delta: { content: 'x' }, logprobs: { content: [] }, finish_reason: null }] })],
    ['a usage field', JSON.stringify({ ...head, choices: choice('x'), usage: { prompt_tokens: 1, completion_tokens: 1, total_tokens: 2 } })],
    ['Groq usage', JSON.stringify({ ...head, choices: choice('x'), x_groq: { id: 'req_1' } })],
    ['an undocumented tier (Groq on_demand)', JSON.stringify({ ...head, service_tier: 'on_demand', choices: choice('x') })],
    ['another key order', JSON.stringify({ object: head.object, id: head.id, created: head.created, model: head.model, choices: choice('x') })],
    ['a null content', JSON.stringify({ ...head, choices: choice(null) })],
    ['a created with a leading zero (invalid JSON)', JSON.stringify({ ...head, choices: choice('x') }).replace('"created":1741569952', '"created":01741569952')],
    ['trailing text', `${JSON.stringify({ ...head, choices: choice('x') })} `],
    ['an error event', JSON.stringify({ error: { message: 'overloaded', type: 'server_error' } })],
    ['[DONE]', '[DONE]'],
  ])('leaves %s to JSON.parse', (_name, data) => {
    expect(contentDeltaChunk(data, TIERS)).toBeUndefined();
  });
});
