/**
 * Readable failures: what went wrong and what to change, for both modes. Pure (no n8n imports);
 * the nodes wrap the result in NodeApiError / NodeOperationError. Messages never carry secrets.
 */

export type Mode = 'direct' | 'gateway';

/** OpenAI's error fields plus the HTTP status, as the gateway sends them and the embedded core reports them. */
export interface Failure {
	status: number;
	message: string;
	type?: string;
	code?: string | null;
	param?: string | null;
	/** True when the body was no OpenAI-shaped error at all (e.g. a proxy's HTML page). */
	bare?: boolean;
}

export interface Explained {
	message: string;
	description: string;
	/** Left out when there is no HTTP status to report (a cancelled request). */
	httpCode?: string;
}

const KEY_LIKE = [
	/\b(?:sk|pk|rk|gsk|xai|sk-ant|sk-or|sk-sy|sk-proj)[-_][A-Za-z0-9_-]{2,}/g,
	/\bAIza[0-9A-Za-z_-]{10,}/g,
	/\b(Bearer|Basic)\s+[A-Za-z0-9._~+/=-]+/gi,
	/([?&](?:key|api_key|apikey|token|access_token)=)[^&\s"']+/gi,
];

/** Secrets shorter than this are not masked: replacing every "abc" would garble messages and hide nothing. */
const MIN_SECRET_LENGTH = 4;

/**
 * Masks the credential's exact secret values, then anything key-like (upstream messages sometimes
 * echo a key back, and a key need not have a well-known prefix).
 */
export function redact(text: string, secrets: readonly string[] = []): string {
	let out = text;
	const exact = secrets.filter((s) => s.length >= MIN_SECRET_LENGTH).sort((a, b) => b.length - a.length);
	for (const secret of exact) out = out.split(secret).join('[redacted]');
	for (const re of KEY_LIKE) {
		out = out.replace(re, (match: string, prefix?: string) =>
			typeof prefix === 'string' && /^[?&]/.test(prefix)
				? `${prefix}[redacted]`
				: /^(Bearer|Basic)\s/i.test(match)
					? `${match.split(/\s/)[0]} [redacted]`
					: '[redacted]',
		);
	}
	return out;
}

const PROVIDER_FIELDS: Record<string, string> = {
	openai: 'OpenAI API Key',
	anthropic: 'Anthropic API Key',
	gemini: 'Gemini API Key',
	deepseek: 'DeepSeek API Key',
	mistral: 'Mistral API Key',
	groq: 'Groq API Key',
	ollama: 'Ollama Base URL',
};

/** "openai: upstream rejected ..." -> the credential field of that provider. */
function providerField(message: string): string | undefined {
	const name = /^([a-z0-9_-]+):/i.exec(message)?.[1]?.toLowerCase();
	return name ? PROVIDER_FIELDS[name] : undefined;
}

/** The provider a relayed message names: "openai: ..." or "... Last error: openai: ...". */
function providerIn(message: string): string | undefined {
	const name = /(?:^|Last error: )([a-z0-9_-]+):\s/i.exec(message)?.[1]?.toLowerCase();
	return name && PROVIDER_FIELDS[name] ? name : undefined;
}

/** The provider account is out of credit (429 insufficient_quota, a 402): not the gateway key's own budget. */
function isProviderQuota(f: Failure): boolean {
	return f.type !== 'budget_exceeded' && (f.code === 'insufficient_quota' || f.status === 402);
}

function quotaHint(f: Failure, mode: Mode): string {
	const provider = providerIn(f.message);
	const field = provider ? PROVIDER_FIELDS[provider] : undefined;
	const title = field ? field.replace(/ (API Key|Base URL)$/, '') : 'The provider';
	const key = mode === 'gateway' ? "the Switchyard server's key" : field ? `'${field}'` : 'the provider key';
	return `${title} reports that the account behind ${key} is out of credit or over its usage quota; retrying will not help. Add credit or raise the spending limit in ${provider ? `${title}'s` : 'the provider'} billing settings, or add Fallback Models on another provider.`;
}

/** An OpenAI-shaped error body (`{error:{message,type,code,param}}`) or anything else a server answered. */
export function failureFromBody(status: number, body: unknown): Failure {
	const parsed = typeof body === 'string' ? safeJson(body) : body;
	const err = (parsed as { error?: unknown } | undefined)?.error;
	if (err && typeof err === 'object') {
		const e = err as Record<string, unknown>;
		return {
			status,
			message: typeof e.message === 'string' ? e.message : `HTTP ${status}`,
			type: typeof e.type === 'string' ? e.type : undefined,
			code: typeof e.code === 'string' ? e.code : null,
			param: typeof e.param === 'string' ? e.param : null,
		};
	}
	const text = typeof body === 'string' ? body.slice(0, 200) : '';
	return { status, message: text ? `HTTP ${status}: ${text}` : `HTTP ${status}`, bare: true };
}

function safeJson(text: string): unknown {
	try {
		return JSON.parse(text);
	} catch {
		return undefined;
	}
}

/** An error's message and stack with the secrets masked, for errors passed on as they are. */
export function redactError<T>(error: T, secrets: readonly string[]): T {
	if (error instanceof Error) {
		error.message = redact(error.message, secrets);
		if (error.stack) error.stack = redact(error.stack, secrets);
	}
	return error;
}

/** What to do about a timeout, in either mode. */
export const TIMEOUT_HINT = 'The providers did not answer in time: raise the Timeout option, or prefer latency.';

/** The Base URL field points somewhere other than the server's address (an extra path, another service). */
export const BASE_URL_HINT =
	"Set 'Base URL' in the Switchyard API credential to the server's address only, e.g. http://192.168.1.20:8787 (the node adds /v1/chat/completions itself).";

function hint(f: Failure, mode: Mode): string {
	const where = mode === 'gateway' ? 'in the Switchyard server config (or its environment)' : 'in the Switchyard API credential';
	if (f.code === 'no_provider_configured') return 'Open the Switchyard API credential and add at least one provider API key (or an Ollama base URL).';
	if (mode === 'gateway' && (f.code === 'unknown_route' || (f.status === 404 && !f.code))) return BASE_URL_HINT;
	if (f.code === 'upstream_auth') {
		const field = providerField(f.message);
		return field ? `The provider rejected its key: check '${field}' ${where}.` : `A provider rejected its API key: check the provider keys ${where}.`;
	}
	if (f.code === 'model_not_found' || f.status === 404) {
		return 'Pick a model from the Model list, use one of the Auto options, or fix the Fallback Models option (use provider/model ids).';
	}
	if (f.code === 'no_model_available') {
		return 'No configured model meets the request (capabilities, context size, cost cap or provider filters). Add a provider key, choose Auto, or relax the options.';
	}
	if (f.status === 401) {
		return mode === 'gateway'
			? "The Switchyard server rejected the gateway key: check 'Gateway Key' in the Switchyard API credential."
			: 'A provider rejected its API key: check the provider keys in the Switchyard API credential.';
	}
	if (f.type === 'budget_exceeded') return "The gateway key's budget is used up: raise it on the Switchyard server (switchyard keys), or wait until it resets.";
	if (isProviderQuota(f)) return quotaHint(f, mode);
	if (mode === 'gateway' && f.bare && f.status >= 500 && f.status !== 504) {
		return `The Switchyard server (or a proxy in front of it) answered HTTP ${f.status} without a Switchyard error: check that the server is running and that 'Base URL' points at it.`;
	}
	if (f.status === 403) return 'The gateway key is not allowed to use this model, or its budget is spent: check the key\'s limits on the Switchyard server.';
	if (f.status === 413) return 'The request is too large for the server: shorten the input.';
	if (f.status === 429) return 'Rate limited or over budget: wait and retry, add Fallback Models, or raise the limits.';
	if (f.code === 'deadline_exceeded' || f.status === 504) return TIMEOUT_HINT;
	if (f.status === 400) return f.param ? `Fix the value of '${f.param}'.` : 'The request was rejected as invalid: check the node parameters.';
	if (f.status >= 500) return 'Every candidate provider failed; the attempts are listed above. Retry later or add Fallback Models on another provider.';
	return 'Check the node parameters and the Switchyard API credential.';
}

export function explainFailure(f: Failure, mode: Mode, secrets: readonly string[] = []): Explained {
	const prefix = mode === 'gateway' ? 'Switchyard server' : 'Switchyard';
	return {
		message: redact(`${prefix}: ${f.message}`, secrets),
		description: redact(hint(f, mode), secrets),
		httpCode: String(f.status),
	};
}

/** A 2xx from the gateway whose body is not JSON (a catch-all HTML page): the Base URL leads somewhere else. */
export function explainNotSwitchyard(baseUrl: string, status: number, body: unknown, secrets: readonly string[] = []): Explained {
	const text = typeof body === 'string' ? body.replace(/\s+/g, ' ').trim().slice(0, 60) : '';
	return {
		message: redact(`The server at ${baseUrl} answered HTTP ${status} with something other than a Switchyard JSON response${text ? ` ("${text}")` : ''}`, secrets),
		description: BASE_URL_HINT,
		httpCode: '502',
	};
}

export type NetworkFailureKind = 'timeout' | 'cancelled' | 'unreachable' | 'dropped' | 'failed';

export interface NetworkFailure {
	kind: NetworkFailureKind;
	/** The system or HTTP-client code, e.g. ECONNREFUSED. */
	code?: string;
	message?: string;
}

/** The server never answered: the connection could not be made at all. */
const UNREACHABLE_CODES = new Set([
	'ECONNREFUSED',
	'ENOTFOUND',
	'EAI_AGAIN',
	'EAI_NONAME',
	'EHOSTUNREACH',
	'EHOSTDOWN',
	'ENETUNREACH',
	'ENETDOWN',
	'EADDRNOTAVAIL',
	// A connect() that timed out: raising the node's Timeout would not help.
	'ETIMEDOUT',
	'UND_ERR_CONNECT_TIMEOUT',
]);
/** The server was reached but did not answer within the request's timeout. */
const TIMEOUT_CODES = new Set(['ECONNABORTED', 'ESOCKETTIMEDOUT', 'UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_BODY_TIMEOUT']);
/** The request was cancelled on our side (execution stopped). */
const CANCEL_CODES = new Set(['ERR_CANCELED', 'ABORT_ERR']);
const DROPPED_CODES = new Set(['ECONNRESET', 'EPIPE', 'UND_ERR_SOCKET']);

/** An error and its causes: n8n wraps the HTTP client's error, which wraps the system error. */
function errorChain(error: unknown): Array<Record<string, unknown>> {
	const chain: Array<Record<string, unknown>> = [];
	let current: unknown = error;
	while (current && typeof current === 'object' && chain.length < 6 && !chain.includes(current as Record<string, unknown>)) {
		chain.push(current as Record<string, unknown>);
		current = (current as { cause?: unknown }).cause;
	}
	return chain;
}

/**
 * What kind of network failure a thrown request error is. n8n throws a NodeApiError whose cause is
 * axios' error: a timeout has code ECONNABORTED, a cancellation ERR_CANCELED, a refused connection
 * ECONNREFUSED (also in NodeApiError.httpCode).
 */
export function networkFailure(error: unknown): NetworkFailure {
	const chain = errorChain(error);
	const codes = chain.flatMap((e) => [e.code, e.httpCode]).filter((c): c is string => typeof c === 'string' && /^[A-Z][A-Z0-9_]+$/.test(c));
	const names = chain.map((e) => e.name);
	const message = chain.map((e) => e.message).find((m): m is string => typeof m === 'string' && m.length > 0);
	const has = (set: ReadonlySet<string>) => codes.find((c) => set.has(c));
	const cancel = has(CANCEL_CODES);
	if (cancel || names.includes('AbortError') || names.includes('CanceledError')) return { kind: 'cancelled', code: cancel, message };
	const timeout = has(TIMEOUT_CODES);
	if (timeout || names.includes('TimeoutError')) return { kind: 'timeout', code: timeout, message };
	const unreachable = has(UNREACHABLE_CODES);
	if (unreachable) return { kind: 'unreachable', code: unreachable, message };
	const dropped = has(DROPPED_CODES);
	if (dropped) return { kind: 'dropped', code: dropped, message };
	return { kind: 'failed', code: codes[0], message };
}

function seconds(ms: number): string {
	return `${Number((ms / 1000).toFixed(1))} s`;
}

/** A request to the gateway that got no HTTP answer: timed out, cancelled, could not connect, or cut off. */
export function explainNetworkFailure(
	baseUrl: string,
	failure: NetworkFailure,
	options: { timeoutMs?: number; secrets?: readonly string[] } = {},
): Explained {
	const secrets = options.secrets ?? [];
	const what = failure.code ?? failure.message ?? 'network error';
	const explained = ((): Explained => {
		switch (failure.kind) {
			case 'timeout':
				return {
					message: `The Switchyard server at ${baseUrl} did not answer ${options.timeoutMs ? `within ${seconds(options.timeoutMs)}` : 'in time'}`,
					description: TIMEOUT_HINT,
					httpCode: '504',
				};
			case 'cancelled':
				return {
					message: 'Switchyard server: the request was cancelled before the server answered',
					description: 'The execution was stopped while the call was running; nothing needs fixing.',
				};
			case 'unreachable':
				return explainUnreachable(baseUrl, { code: what });
			case 'dropped':
				return {
					message: `The connection to the Switchyard server at ${baseUrl} was closed before it answered (${what})`,
					description: "Retry the execution; if it keeps happening, check the server's log (it may have restarted) or a proxy between n8n and the server.",
					httpCode: '502',
				};
			default:
				return {
					message: `The request to the Switchyard server at ${baseUrl} failed (${what})`,
					description: `Check that the server is running. ${BASE_URL_HINT}`,
					httpCode: '502',
				};
		}
	})();
	return { ...explained, message: redact(explained.message, secrets), description: redact(explained.description, secrets) };
}

/** A gateway that could not be reached at all (refused, DNS, no route). */
export function explainUnreachable(baseUrl: string, error: { message?: string; code?: string }): Explained {
	const what = error.code ?? error.message ?? 'network error';
	return {
		message: redact(`Cannot reach the Switchyard server at ${baseUrl} (${what})`),
		description:
			"Start the server (npx switchyard serve) or fix 'Base URL' in the Switchyard API credential; from n8n in Docker use the host's address, not 127.0.0.1.",
		httpCode: '503',
	};
}
