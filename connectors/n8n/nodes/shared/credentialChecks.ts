/** What the credential test checks, per mode. Pure (no n8n imports) so the repository's tests run it. */
import type { DirectSettings, ProviderCheck } from '../../vendor/switchyard-core';
import { credentialMode, credentialSecrets, directSettings, gatewayBaseUrl, type SwitchyardCredentialData } from './credentials';
import { BASE_URL_HINT, explainNetworkFailure, failureFromBody, networkFailure, redact } from './failures';

export interface CheckResult {
	status: 'OK' | 'Error';
	message: string;
}

export type ProviderChecker = (settings: DirectSettings) => Promise<ProviderCheck[]>;

export const CHECK_TIMEOUT_MS = 15_000;

/** OpenAI's list shape, as the Switchyard server answers GET /v1/models: `{"data":[{"id":"auto",...},...]}`. */
function isModelList(text: string): boolean {
	let body: unknown;
	try {
		body = JSON.parse(text);
	} catch {
		return false;
	}
	const data = (body as { data?: unknown } | null)?.data;
	return Array.isArray(data) && data.every((m) => typeof (m as { id?: unknown } | null)?.id === 'string');
}

/** The start of an unexpected body, on one line, to show what answered instead. */
export function bodySnippet(text: string): string {
	const line = text.replace(/\s+/g, ' ').trim();
	return line ? `got "${line.slice(0, 60)}${line.length > 60 ? '...' : ''}"` : 'empty body';
}

/** Gateway mode: GET /v1/models on the server with the gateway key. */
export async function checkGateway(data: SwitchyardCredentialData, timeoutMs = CHECK_TIMEOUT_MS): Promise<CheckResult> {
	const baseUrl = gatewayBaseUrl(data);
	const key = data.gatewayApiKey?.trim();
	const secrets = credentialSecrets(data);
	let res: Response;
	try {
		res = await fetch(`${baseUrl}/v1/models`, {
			headers: key ? { authorization: `Bearer ${key}` } : {},
			signal: AbortSignal.timeout(timeoutMs),
		});
	} catch (error) {
		const explained = explainNetworkFailure(baseUrl, networkFailure(error), { timeoutMs, secrets });
		return { status: 'Error', message: `${explained.message}: check 'Base URL'` };
	}
	if (res.ok) {
		const text = await res.text();
		if (isModelList(text)) return { status: 'OK', message: `Connected to the Switchyard server at ${baseUrl}` };
		return {
			status: 'Error',
			message: redact(`The server at ${baseUrl} answered GET /v1/models with HTTP ${res.status} but not with a model list ({"data":[{"id":...}]}; ${bodySnippet(text)}), so it is not a Switchyard server. ${BASE_URL_HINT}`, secrets),
		};
	}
	const failure = failureFromBody(res.status, await res.text());
	const what = res.status === 401 || res.status === 403 ? "the server rejected 'Gateway Key'" : failure.message;
	const wrongPath = failure.code === 'unknown_route' || (res.status === 404 && !failure.code);
	return { status: 'Error', message: redact(`Switchyard server at ${baseUrl}: ${what} (HTTP ${res.status})${wrongPath ? `. ${BASE_URL_HINT}` : ''}`, secrets) };
}

/** Direct mode: every configured provider lists its models with its key; failures are named. */
export async function checkDirect(data: SwitchyardCredentialData, check: ProviderChecker): Promise<CheckResult> {
	const settings = directSettings(data);
	if (Object.keys(settings.apiKeys).length === 0 && !settings.baseUrls.ollama) {
		return { status: 'Error', message: 'Add at least one provider API key (or an Ollama base URL)' };
	}
	const checks = await check(settings);
	const failed = checks.filter((c) => !c.ok);
	if (failed.length > 0) {
		const lines = failed.map((c) => `${c.provider}: ${c.message ?? 'failed'}`);
		return { status: 'Error', message: redact(`Provider check failed. ${lines.join(' | ')}`, credentialSecrets(data)) };
	}
	const notes = checks.filter((c) => c.note).map((c) => `. ${c.provider} ${c.note}`);
	return { status: 'OK', message: redact(`Providers answered: ${checks.map((c) => c.provider).join(', ')}${notes.join('')}`, credentialSecrets(data)) };
}

export async function checkCredential(data: SwitchyardCredentialData, check: ProviderChecker): Promise<CheckResult> {
	return credentialMode(data) === 'gateway' ? await checkGateway(data) : await checkDirect(data, check);
}
