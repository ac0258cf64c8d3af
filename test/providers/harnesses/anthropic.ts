import nock from 'nock';
import { AnthropicAdapter } from '../../../src/providers/anthropic';
import { fixtureJson, sseBody, SSE_HEADERS } from '../../helpers/fixtures';
import type { ContractHarness } from './types';

const BASE = 'https://contract.anthropic.test';

export const anthropicHarness: ContractHarness = {
  name: 'anthropic',
  adapter: new AnthropicAdapter(),
  ctx: { credentials: { apiKey: 'sk-ant-contract', baseUrl: BASE } },
  model: 'claude-sonnet-4-5-20250929',
  mockText: () => void nock(BASE).post('/v1/messages').reply(200, fixtureJson('anthropic/message-text.json')),
  mockToolCall: () => void nock(BASE).post('/v1/messages').reply(200, fixtureJson('anthropic/message-tool-use.json')),
  mockStreamText: (opts) =>
    void nock(BASE).post('/v1/messages').reply(200, () => sseBody('anthropic/stream-text.sse', opts), SSE_HEADERS),
  mockStreamToolCall: () =>
    void nock(BASE).post('/v1/messages').reply(200, () => sseBody('anthropic/stream-tool-use.sse'), SSE_HEADERS),
  mockRateLimited: () =>
    void nock(BASE).post('/v1/messages').reply(429, fixtureJson('anthropic/error-429.json'), { 'retry-after': '2' }),
  // Dies inside the text deltas, well before message_stop.
  mockStreamDies: () =>
    void nock(BASE).post('/v1/messages').reply(200, () => sseBody('anthropic/stream-text.sse', { dieAfterBytes: 700 }), SSE_HEADERS),
};
