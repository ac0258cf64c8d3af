/**
 * Entry point of the embedded core bundle (dist/vendor/switchyard-core.js): the routing core as
 * Direct mode uses it, behind the plain-data contract of vendor/switchyard-core.d.ts.
 * Not compiled by the package's tsc: scripts/bundle-core.mjs bundles it with esbuild.
 */
import type { CoreConfigInput, ProviderConfig } from '../../../src/core/config';
import { GatewayError, ProviderError, gatewayErrorFromProvider, redactSecrets } from '../../../src/core/errors';
import type { ChatChunk, ChatResponse } from '../../../src/core/schema';
import { createSwitchyard } from '../../../src/core/routing/switchyard';
import type { CatalogModel, RouteStory, RoutedChatRequest } from '../../../src/core/routing/types';
import { resolveProviders } from '../../../src/providers/registry';
import type {
	CallFailure,
	CallOptions,
	CatalogEntry,
	DirectProvider,
	DirectSettings,
	EmbeddedSwitchyard,
	ProviderCheck,
	RouteInfo,
	RoutedChatCompletion,
	RoutedChatStream,
	StreamDelta,
} from '../vendor/switchyard-core';

export { redactSecrets };

declare const SWITCHYARD_CORE_VERSION: string | undefined;
export const CORE_VERSION: string = typeof SWITCHYARD_CORE_VERSION === 'string' ? SWITCHYARD_CORE_VERSION : 'source';

/** Direct mode's providers as core config entries (OpenAI-shaped ones through their presets). */
const PROVIDER_TYPES: Record<DirectProvider, Pick<ProviderConfig, 'type' | 'preset'>> = {
	openai: { type: 'openai' },
	anthropic: { type: 'anthropic' },
	gemini: { type: 'gemini' },
	deepseek: { type: 'openai-compatible', preset: 'deepseek' },
	mistral: { type: 'openai-compatible', preset: 'mistral' },
	groq: { type: 'openai-compatible', preset: 'groq' },
	ollama: { type: 'openai-compatible', preset: 'ollama' },
};

const KEYLESS: ReadonlySet<DirectProvider> = new Set(['ollama']);

function clean(value: string | undefined): string | undefined {
	const trimmed = value?.trim();
	return trimmed ? trimmed : undefined;
}

/** The core config for a Direct mode credential; never reads the n8n host's environment. */
export function directConfig(settings: DirectSettings): CoreConfigInput {
	const providers: Record<string, ProviderConfig> = {};
	for (const [name, kind] of Object.entries(PROVIDER_TYPES) as Array<[DirectProvider, Pick<ProviderConfig, 'type' | 'preset'>]>) {
		const apiKey = clean(settings.apiKeys[name]);
		const baseUrl = clean(settings.baseUrls[name])?.replace(/\/+$/, '');
		const on = KEYLESS.has(name) ? baseUrl !== undefined : apiKey !== undefined;
		if (!on) continue;
		providers[name] = { ...kind, enabled: true, ...(apiKey ? { api_key: apiKey } : {}), ...(baseUrl ? { base_url: baseUrl } : {}) };
	}
	return { providers };
}

function routeInfo(story: RouteStory): RouteInfo {
	return {
		requested_model: story.requestedModel,
		model: story.model,
		provider: story.provider,
		cost_usd: story.costUsd,
		latency_ms: Math.round(story.latencyMs),
		attempts: story.attempts.length,
		cached: story.cached,
		reason: story.reason,
	};
}

function completion(response: ChatResponse, story: RouteStory): RoutedChatCompletion {
	return { ...response, switchyard: routeInfo(story) };
}

function catalogEntry(m: CatalogModel): CatalogEntry {
	return {
		id: m.key,
		provider: m.provider,
		context_window: m.context_window,
		input_price: m.pricing.input,
		output_price: m.pricing.output,
		quality: m.quality,
		json_schema: m.capabilities.json_schema,
		tools: m.capabilities.tools,
	};
}

async function* deltas(chunks: AsyncIterable<ChatChunk>): AsyncGenerator<StreamDelta> {
	for await (const chunk of chunks) yield chunk;
}

function noProviders(): GatewayError {
	return new GatewayError(
		400,
		'no provider is configured in the Switchyard API credential: add at least one provider API key (or an Ollama base URL)',
		{ code: 'no_provider_configured' },
	);
}

export function createEmbeddedSwitchyard(settings: DirectSettings): EmbeddedSwitchyard {
	const config = directConfig(settings);
	const core = createSwitchyard(config, { env: {} });
	const ensureProviders = () => {
		if (Object.keys(config.providers ?? {}).length === 0) throw noProviders();
	};
	return {
		async chat(body: Record<string, unknown>, options: CallOptions = {}): Promise<RoutedChatCompletion> {
			ensureProviders();
			const { response, story } = await core.chat(body as RoutedChatRequest, options);
			return completion(response, story);
		},
		async stream(body: Record<string, unknown>, options: CallOptions = {}): Promise<RoutedChatStream> {
			ensureProviders();
			const routed = await core.stream(body as RoutedChatRequest, options);
			return { model: routed.model, provider: routed.provider, chunks: deltas(routed.chunks), route: routed.story.then(routeInfo) };
		},
		models: () => core.models().map(catalogEntry),
		close: () => core.close(),
	};
}

function checkFailure(provider: string, err: unknown): ProviderCheck {
	// A provider only rate limits (or reports a used-up quota for) a key it has accepted.
	if (err instanceof ProviderError && err.kind === 'rate_limited') {
		const status = err.status ?? 429;
		const note = err.retryable
			? `rate limited the check (HTTP ${status}), so the key was accepted`
			: `accepted the key, but reports its quota or billing limit as used up (HTTP ${status})`;
		return { provider, ok: true, status, note };
	}
	if (err instanceof ProviderError) {
		return { provider, ok: false, status: err.status, message: redactSecrets(`${err.kind}: ${err.message}`) };
	}
	const message = err instanceof Error ? err.message : String(err);
	return { provider, ok: false, message: redactSecrets(message) };
}

export async function checkDirectProviders(settings: DirectSettings, options: CallOptions = {}): Promise<ProviderCheck[]> {
	const runtimes = resolveProviders({ providers: directConfig(settings).providers as Record<string, ProviderConfig> }, {});
	const deadline = Date.now() + (options.deadlineMs ?? 15_000);
	return Promise.all(
		runtimes.map(async (rt): Promise<ProviderCheck> => {
			if (!rt.adapter.listModels) return { provider: rt.name, ok: true };
			try {
				const models = await rt.adapter.listModels({ credentials: rt.credentials, signal: options.signal, deadline });
				return { provider: rt.name, ok: true, models: models.length };
			} catch (err) {
				return checkFailure(rt.name, err);
			}
		}),
	);
}

export function describeCoreError(error: unknown): CallFailure | undefined {
	const gateway = error instanceof ProviderError ? gatewayErrorFromProvider(error) : error;
	if (!(gateway instanceof GatewayError)) return undefined;
	return { status: gateway.status, type: gateway.type, code: gateway.code, param: gateway.param, message: gateway.message };
}
