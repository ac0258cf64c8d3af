/**
 * The contract of the embedded Switchyard routing core (Direct mode).
 *
 * `dist/vendor/switchyard-core.js` is built by `scripts/bundle-core.mjs` (esbuild) from
 * `core/switchyard-core.ts`, which wraps the repository's `src/core` + `src/providers` together with
 * their libraries (zod, undici, eventsource-parser, genai-prices data, gpt-tokenizer, bottleneck,
 * lru-cache), so the package ships with no runtime dependencies. The implementation is type-checked
 * against this file by the repository's `npm run typecheck` (test/n8n/core.test.ts).
 */

/** Providers the Direct mode credential configures. */
export type DirectProvider = 'openai' | 'anthropic' | 'gemini' | 'deepseek' | 'mistral' | 'groq' | 'ollama';

export interface DirectSettings {
	/** API keys by provider; a provider without a key stays off (Ollama is switched on by its base URL). */
	apiKeys: Partial<Record<DirectProvider, string>>;
	/** Where a provider lives, when not at its public default. */
	baseUrls: Partial<Record<DirectProvider, string>>;
}

/** How a request was answered: the `switchyard` object of the gateway server's responses. */
export interface RouteInfo {
	requested_model: string;
	/** Catalog key of the model that answered, e.g. "openai/gpt-4.1-mini". */
	model: string;
	provider: string;
	cost_usd: number;
	latency_ms: number;
	/** Upstream attempts, retries and fallbacks included (0 for a cache hit). */
	attempts: number;
	cached: boolean;
	reason: string;
}

export interface ToolCall {
	id: string;
	type: 'function';
	function: { name: string; arguments: string };
}

export interface Usage {
	prompt_tokens: number;
	completion_tokens: number;
	total_tokens: number;
}

/** An OpenAI chat completion, plus the route it took. */
export interface RoutedChatCompletion {
	id: string;
	object: 'chat.completion';
	created: number;
	model: string;
	choices: Array<{
		index: number;
		message: { role: 'assistant'; content: string | null; refusal?: string | null; tool_calls?: ToolCall[] };
		finish_reason: string | null;
	}>;
	usage?: Usage;
	switchyard: RouteInfo;
}

/** One streamed delta (OpenAI chunk shape, reduced to what a chat model node reads). */
export interface StreamDelta {
	choices: Array<{
		index: number;
		delta: {
			content?: string | null;
			tool_calls?: Array<{ index: number; id?: string; function?: { name?: string; arguments?: string } }>;
		};
		finish_reason: string | null;
	}>;
	usage?: Usage | null;
}

export interface RoutedChatStream {
	model: string;
	provider: string;
	chunks: AsyncIterable<StreamDelta>;
	/** Resolves when the stream is over. */
	route: Promise<RouteInfo>;
}

export interface CatalogEntry {
	/** Catalog key, "provider/model". */
	id: string;
	provider: string;
	context_window: number;
	/** USD per 1M tokens. */
	input_price: number;
	output_price: number;
	quality: number;
	json_schema: boolean;
	tools: boolean;
}

export interface ProviderCheck {
	provider: string;
	ok: boolean;
	/** Models the provider listed, when it answered. */
	models?: number;
	/** What went wrong, secrets redacted. */
	message?: string;
	/** For a check that passed, what is still worth knowing, e.g. that the provider rate limited the check. */
	note?: string;
	status?: number;
}

export interface CallOptions {
	signal?: AbortSignal;
	/** Overall deadline for the call, fallbacks included. */
	deadlineMs?: number;
}

/** The routing core running inside n8n. */
export interface EmbeddedSwitchyard {
	/** Routed non-streaming call (OpenAI request body plus `routing` and `models`). */
	chat(body: Record<string, unknown>, options?: CallOptions): Promise<RoutedChatCompletion>;
	/** Routed streaming call; resolves once an upstream produced its first chunk. */
	stream(body: Record<string, unknown>, options?: CallOptions): Promise<RoutedChatStream>;
	/** Catalog models of the configured providers. */
	models(): CatalogEntry[];
	close(): Promise<void>;
}

/** An error a caller can act on: OpenAI's error fields plus the HTTP status the gateway would answer with. */
export interface CallFailure {
	status: number;
	type: string;
	code: string | null;
	param: string | null;
	message: string;
}

export declare function createEmbeddedSwitchyard(settings: DirectSettings): EmbeddedSwitchyard;

/** Asks every configured provider to list its models with the configured key (the credential test). */
export declare function checkDirectProviders(settings: DirectSettings, options?: CallOptions): Promise<ProviderCheck[]>;

/** The failure's fields when `error` came from the core (validation, routing, upstream), else undefined. */
export declare function describeCoreError(error: unknown): CallFailure | undefined;

/** Masks anything that looks like a credential. */
export declare function redactSecrets(text: string): string;

/** Version of the bundled core. */
export declare const CORE_VERSION: string;
