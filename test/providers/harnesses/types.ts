import type { CallContext, ProviderAdapter } from '../../../src/core/adapter';

/**
 * How the contract suite drives one adapter: each `mock*` sets up nock for the next call
 * (from the provider's fixture files) and returns nothing; the suite asserts on unified output.
 * Every provider's fixtures answer the same canonical conversation:
 * text "Hello! ¿Cómo estás? 👋" with usage 12 prompt / 9 completion tokens, and a tool call
 * get_weather({"city":"Paris"}).
 */
export interface ContractHarness {
  name: string;
  adapter: ProviderAdapter;
  ctx: CallContext;
  /** Model id passed in the unified request. */
  model: string;
  mockText(): void;
  mockToolCall(): void;
  mockStreamText(opts?: { chunkSize?: number }): void;
  mockStreamToolCall(): void;
  /** A 429 with a retry-after of 2 seconds, in the provider's documented error shape. */
  mockRateLimited(): void;
  /** The stream dies mid-way (socket destroyed after some content). */
  mockStreamDies(): void;
}
