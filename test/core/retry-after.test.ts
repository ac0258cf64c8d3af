import { parseGoDuration, retryAfterMsFromHeaders } from '../../src/core/retry-after';

const headers = (h: Record<string, string>) => new Headers(h);
const NOW = Date.parse('2026-11-23T10:00:00Z');

describe('retry-after parsing', () => {
  it('prefers retry-after-ms', () => {
    expect(retryAfterMsFromHeaders(headers({ 'retry-after-ms': '150', 'retry-after': '9' }), NOW)).toBe(150);
  });
  it('reads seconds and HTTP dates', () => {
    expect(retryAfterMsFromHeaders(headers({ 'retry-after': '3' }), NOW)).toBe(3000);
    expect(retryAfterMsFromHeaders(headers({ 'retry-after': 'Mon, 23 Nov 2026 10:00:05 GMT' }), NOW)).toBe(5000);
  });
  it("reads OpenAI's x-ratelimit-reset durations (the longest)", () => {
    expect(retryAfterMsFromHeaders(headers({ 'x-ratelimit-reset-requests': '120ms', 'x-ratelimit-reset-tokens': '6m0s' }), NOW)).toBe(360_000);
  });
  it("reads Anthropic's reset timestamps", () => {
    expect(retryAfterMsFromHeaders(headers({ 'anthropic-ratelimit-requests-reset': '2026-11-23T10:00:02Z' }), NOW)).toBe(2000);
  });
  it('returns undefined when nothing says how long', () => {
    expect(retryAfterMsFromHeaders(headers({ 'retry-after': 'soon' }), NOW)).toBeUndefined();
  });
  it.each([
    ['1s', 1000],
    ['1h2m3.5s', 3_723_500],
    ['20ms', 20],
    ['30s', 30_000],
    ['nonsense', undefined],
    ['5s extra', undefined],
  ])('parses Go duration %s', (text, ms) => {
    expect(parseGoDuration(text)).toBe(ms);
  });
});
