import nock from 'nock';
import { GeminiAdapter } from '../../../src/providers/gemini';
import { fixtureJson, sseBody, SSE_HEADERS } from '../../helpers/fixtures';
import type { ContractHarness } from './types';

const BASE = 'https://contract.gemini.test';
const MODEL = 'gemini-2.0-flash';
const GENERATE = `/v1beta/models/${MODEL}:generateContent`;
const STREAM = `/v1beta/models/${MODEL}:streamGenerateContent`;

const generate = () => nock(BASE, { reqheaders: { 'x-goog-api-key': 'AIza-contract-key' } }).post(GENERATE);
const stream = () => nock(BASE, { reqheaders: { 'x-goog-api-key': 'AIza-contract-key' } }).post(STREAM).query({ alt: 'sse' });

export const geminiHarness: ContractHarness = {
  name: 'gemini',
  adapter: new GeminiAdapter(),
  ctx: { credentials: { apiKey: 'AIza-contract-key', baseUrl: BASE } },
  model: MODEL,
  mockText: () => void generate().reply(200, fixtureJson('gemini/generate-text.json')),
  mockToolCall: () => void generate().reply(200, fixtureJson('gemini/generate-function-call.json')),
  mockStreamText: (opts) => void stream().reply(200, () => sseBody('gemini/stream-text.sse', opts), SSE_HEADERS),
  mockStreamToolCall: () => void stream().reply(200, () => sseBody('gemini/stream-function-call.sse'), SSE_HEADERS),
  // Gemini sends no retry-after header: the delay comes from google.rpc.RetryInfo ("2s").
  mockRateLimited: () => void generate().reply(429, fixtureJson('gemini/error-429-retry-info.json')),
  mockStreamDies: () => void stream().reply(200, () => sseBody('gemini/stream-text.sse', { dieAfterBytes: 400 }), SSE_HEADERS),
};
