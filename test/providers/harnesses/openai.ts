import nock from 'nock';
import { OpenAIAdapter } from '../../../src/providers/openai';
import { fixtureJson, sseBody, SSE_HEADERS } from '../../helpers/fixtures';
import type { ContractHarness } from './types';

const BASE = 'https://contract.openai.test/v1';

export const openaiHarness: ContractHarness = {
  name: 'openai',
  adapter: new OpenAIAdapter(),
  ctx: { credentials: { apiKey: 'sk-contract', baseUrl: BASE } },
  model: 'gpt-4.1-mini',
  mockText: () => void nock(BASE).post('/chat/completions').reply(200, fixtureJson('openai/chat-basic.json')),
  mockToolCall: () => void nock(BASE).post('/chat/completions').reply(200, fixtureJson('openai/chat-tool-call.json')),
  mockStreamText: (opts) =>
    void nock(BASE).post('/chat/completions').reply(200, () => sseBody('openai/stream-basic.sse', opts), SSE_HEADERS),
  mockStreamToolCall: () =>
    void nock(BASE).post('/chat/completions').reply(200, () => sseBody('openai/stream-tool-call.sse'), SSE_HEADERS),
  mockRateLimited: () =>
    void nock(BASE).post('/chat/completions').reply(429, fixtureJson('openai/error-429.json'), { 'retry-after': '2' }),
  mockStreamDies: () =>
    void nock(BASE).post('/chat/completions').reply(200, () => sseBody('openai/stream-basic.sse', { dieAfterBytes: 400 }), SSE_HEADERS),
};
