import { SUMMARY_LENGTHS, summarize, summaryRequest } from '../../../src/core/tasks';
import { FakeSwitchyard } from './fake-switchyard';

describe('summary prompts', () => {
  it('asks for the style, the length and the language, capping tokens by length', () => {
    const req = summaryRequest({ text: ' Long email thread... ', style: 'bullets', length: 'short', language: 'English' });
    expect(req.max_tokens).toBe(300);
    expect(req.messages[1]).toEqual({ role: 'user', content: 'Long email thread...' });
    expect(String(req.messages[0]?.content)).toMatch(/bulleted list.*about 50 words.*Write in English\./);
  });

  it('defaults to a medium paragraph in the language of the text', () => {
    const req = summaryRequest({ text: 'x' });
    expect(req.max_tokens).toBe(SUMMARY_LENGTHS.medium.maxTokens);
    expect(String(req.messages[0]?.content)).toMatch(/plain prose.*about 120 words.*language of the text/);
  });

  it('refuses an unknown style or an empty text, naming it', () => {
    expect(() => summaryRequest({ text: 'x', style: 'haiku' as never })).toThrow(expect.objectContaining({ status: 400, param: 'style' }));
    expect(() => summaryRequest({ text: '  ' })).toThrow(expect.objectContaining({ status: 400, param: 'text' }));
  });
});

describe('summarize', () => {
  it('returns the trimmed summary and the route story', async () => {
    const sy = new FakeSwitchyard([{ text: '  The client wants a quote by Friday.\n', model: 'openai/gpt-4.1-mini' }]);
    const result = await summarize(sy, { text: 'Long thread', style: 'one_sentence', model: 'auto:cost' });
    expect(result).toMatchObject({ summary: 'The client wants a quote by Friday.', story: { model: 'openai/gpt-4.1-mini' } });
    expect(sy.requests[0]).toMatchObject({ model: 'auto:cost', max_tokens: 600 });
  });

  it('an empty answer is a 502', async () => {
    await expect(summarize(new FakeSwitchyard([{ text: ' ' }]), { text: 'x' })).rejects.toMatchObject({ status: 502, code: 'empty_answer' });
  });
});
