/** The Switchyard API credential's fields, and what each mode needs from them. Pure (no n8n imports). */
import type { DirectProvider, DirectSettings } from '../../vendor/switchyard-core';

export const CREDENTIAL_NAME = 'switchyardApi';
export const CREDENTIAL_TEST = 'switchyardApiTest';

export type CredentialMode = 'direct' | 'gateway';

export interface SwitchyardCredentialData {
	mode?: CredentialMode;
	baseUrl?: string;
	gatewayApiKey?: string;
	openaiApiKey?: string;
	openaiBaseUrl?: string;
	anthropicApiKey?: string;
	geminiApiKey?: string;
	deepseekApiKey?: string;
	mistralApiKey?: string;
	groqApiKey?: string;
	ollamaBaseUrl?: string;
}

export const DEFAULT_GATEWAY_URL = 'http://127.0.0.1:8787';

const KEY_FIELDS: Record<Exclude<DirectProvider, 'ollama'>, keyof SwitchyardCredentialData> = {
	openai: 'openaiApiKey',
	anthropic: 'anthropicApiKey',
	gemini: 'geminiApiKey',
	deepseek: 'deepseekApiKey',
	mistral: 'mistralApiKey',
	groq: 'groqApiKey',
};

function text(value: unknown): string | undefined {
	return typeof value === 'string' && value.trim() !== '' ? value.trim() : undefined;
}

export function credentialMode(data: SwitchyardCredentialData): CredentialMode {
	return data.mode === 'gateway' ? 'gateway' : 'direct';
}

/** Direct mode: provider keys and base URLs for the embedded core. */
export function directSettings(data: SwitchyardCredentialData): DirectSettings {
	const settings: DirectSettings = { apiKeys: {}, baseUrls: {} };
	for (const [provider, field] of Object.entries(KEY_FIELDS) as Array<[DirectProvider, keyof SwitchyardCredentialData]>) {
		const key = text(data[field]);
		if (key) settings.apiKeys[provider] = key;
	}
	const openaiBase = text(data.openaiBaseUrl);
	if (openaiBase) settings.baseUrls.openai = openaiBase;
	const ollama = text(data.ollamaBaseUrl);
	if (ollama) settings.baseUrls.ollama = ollama;
	return settings;
}

/** An endpoint pasted with the address, e.g. ".../v1/chat/completions": the node adds the paths itself. */
const ENDPOINT_PATH = /\/(?:chat\/completions|models)$/i;

/** The server's address from what was typed: no trailing slash, no /v1, no endpoint path. */
export function normalizeGatewayUrl(url: string): string {
	const trimmed = url.trim().replace(/\/+$/, '');
	return trimmed.replace(ENDPOINT_PATH, '').replace(/\/+$/, '').replace(/\/v1$/i, '');
}

/** Gateway mode: the server's base URL (the node adds the paths). */
export function gatewayBaseUrl(data: SwitchyardCredentialData): string {
	return normalizeGatewayUrl(text(data.baseUrl) ?? DEFAULT_GATEWAY_URL);
}

/** The credential's secret values (gateway and provider keys), as entered, to mask wherever a message could echo them. */
export function credentialSecrets(data: SwitchyardCredentialData): string[] {
	return Object.entries(data)
		.filter(([field, value]) => /apikey$/i.test(field) && typeof value === 'string')
		.map(([, value]) => String(value).trim())
		.filter((value) => value.length > 0);
}
