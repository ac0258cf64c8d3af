import type { ChatChunk, ChatRequest, ChatResponse } from './schema';

export interface ProviderCredentials {
  /** Absent for keyless local servers (Ollama, vLLM). */
  apiKey?: string;
  baseUrl: string;
  /** Extra headers every request carries (OpenRouter attribution, org ids). */
  headers?: Record<string, string>;
}

export interface Timeouts {
  /** TCP + TLS connect. */
  connectMs: number;
  /** Until the upstream's response headers arrive. */
  firstByteMs: number;
  /** The whole call, body included. */
  totalMs: number;
}

export const DEFAULT_TIMEOUTS: Timeouts = { connectMs: 10_000, firstByteMs: 60_000, totalMs: 600_000 };

export interface CallContext {
  credentials: ProviderCredentials;
  /** Aborting it aborts the upstream request. */
  signal?: AbortSignal;
  /** Absolute deadline (ms since epoch); the call fails with kind `timeout` past it. */
  deadline?: number;
  timeouts?: Partial<Timeouts>;
}

export interface ListedModel {
  id: string;
  ownedBy?: string;
}

/**
 * One provider family behind one interface. `req.model` is the provider's own model id;
 * streams end with a usage chunk (`choices: []`) whenever the provider reports usage.
 * Every failure is thrown as a ProviderError.
 */
export interface ProviderAdapter {
  /** Instance name, e.g. "openai", "groq", "ollama". */
  readonly name: string;
  complete(req: ChatRequest, ctx: CallContext): Promise<ChatResponse>;
  stream(req: ChatRequest, ctx: CallContext): AsyncIterable<ChatChunk>;
  listModels?(ctx: CallContext): Promise<ListedModel[]>;
}
