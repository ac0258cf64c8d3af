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
}

export interface Explained {
	message: string;
	description: string;
	httpCode: string;
}

const KEY_LIKE = [
	/\b(?:sk|pk|rk|gsk|xai|sk-ant|sk-or|sk-sy|sk-proj)[-_][A-Za-z0-9_-]{2,}/g,
	/\bAIza[0-9A-Za-z_-]{10,}/g,
	/\b(Bearer|Basic)\s+[A-Za-z0-9._~+/=-]+/gi,
	/([?&](?:key|api_key|apikey|token|access_token)=)[^&\s"']+/gi,
];

/** Masks key-like strings (upstream messages sometimes echo a key back). */
export function redact(text: string): string {
	let out = text;
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
	return { status, message: text ? `HTTP ${status}: ${text}` : `HTTP ${status}` };
}

function safeJson(text: string): unknown {
	try {
		return JSON.parse(text);
	} catch {
		return undefined;
	}
}

function hint(f: Failure, mode: Mode): string {
	const where = mode === 'gateway' ? 'in the Switchyard server config (or its environment)' : 'in the Switchyard API credential';
	if (f.code === 'no_provider_configured') return 'Open the Switchyard API credential and add at least one provider API key (or an Ollama base URL).';
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
	if (f.status === 403) return 'The gateway key is not allowed to use this model, or its budget is spent: check the key\'s limits on the Switchyard server.';
	if (f.status === 413) return 'The request is too large for the server: shorten the input.';
	if (f.status === 429) return 'Rate limited or over budget: wait and retry, add Fallback Models, or raise the limits.';
	if (f.code === 'deadline_exceeded' || f.status === 504) return 'The providers did not answer in time: raise the Timeout option, or prefer latency.';
	if (f.status === 400) return f.param ? `Fix the value of '${f.param}'.` : 'The request was rejected as invalid: check the node parameters.';
	if (f.status >= 500) return 'Every candidate provider failed; the attempts are listed above. Retry later or add Fallback Models on another provider.';
	return 'Check the node parameters and the Switchyard API credential.';
}

export function explainFailure(f: Failure, mode: Mode): Explained {
	const prefix = mode === 'gateway' ? 'Switchyard server' : 'Switchyard';
	return {
		message: redact(`${prefix}: ${f.message}`),
		description: redact(hint(f, mode)),
		httpCode: String(f.status),
	};
}

/** A gateway that could not be reached at all (refused, DNS, TLS, timeout). */
export function explainUnreachable(baseUrl: string, error: { message?: string; code?: string }): Explained {
	const what = error.code ?? error.message ?? 'network error';
	return {
		message: redact(`Cannot reach the Switchyard server at ${baseUrl} (${what})`),
		description:
			"Start the server (npx switchyard serve) or fix 'Base URL' in the Switchyard API credential; from n8n in Docker use the host's address, not 127.0.0.1.",
		httpCode: '503',
	};
}
