/**
 * One client, two modes: Direct (the embedded routing core, loaded on first use) and Gateway server
 * (the Switchyard server's OpenAI-compatible API through n8n's HTTP helper and the credential).
 */
import { NodeApiError, NodeOperationError } from 'n8n-workflow';
import type { IExecuteFunctions, IHttpRequestOptions, ILoadOptionsFunctions, INode, JsonObject } from 'n8n-workflow';
import type { EmbeddedSwitchyard } from '../../vendor/switchyard-core';
import { CREDENTIAL_NAME, credentialMode, credentialSecrets, directSettings, gatewayBaseUrl, type SwitchyardCredentialData } from './credentials';
import { explainFailure, explainNetworkFailure, explainNotSwitchyard, failureFromBody, networkFailure, redact, redactError, type Explained, type Failure, type Mode } from './failures';
import { CorePool, type CoreLease } from './corePool';
import { toCompletion, type ChatBody, type Completion } from './mapping';
import { directModelOptions, gatewayModelOptions, type ModelOption } from './modelOptions';

type Ctx = IExecuteFunctions | ILoadOptionsFunctions;

export interface CallSettings {
	timeoutMs?: number;
	signal?: AbortSignal;
}

export interface SwitchyardClient {
	readonly mode: Mode;
	chat(body: ChatBody, settings?: CallSettings): Promise<Completion>;
	/** Auto variants first, then the models Switchyard can route to. */
	models(): Promise<ModelOption[]>;
	close(): Promise<void>;
}

function apiError(node: INode, explained: Explained, response: JsonObject): NodeApiError {
	const error = new NodeApiError(node, response, {
		message: explained.message,
		description: explained.description,
		httpCode: explained.httpCode,
	});
	// NodeApiError swaps a message that mentions a network code (ECONNREFUSED, ETIMEDOUT...) for a generic
	// one ("The service refused the connection"); ours names the server and what to change.
	error.message = explained.message;
	return error;
}

/** The failure as NodeApiError keeps it (its raw response), with the secrets masked. */
function failureResponse(failure: Failure, secrets: readonly string[]): JsonObject {
	return { error: { ...failure, message: redact(failure.message, secrets) } };
}

/** Loads the embedded core bundle only when Direct mode is used (it is several MB). The extension keeps the
 * import valid as an ECMAScript one too (the repository's tests typecheck this file under nodenext). */
async function loadCore() {
	return await import('../../vendor/switchyard-core.js');
}

/** This process's Direct-mode cores, shared by every execution (see corePool.ts for why). */
let directCores: CorePool | undefined;

/**
 * The embedded core for a Direct credential, kept across executions so its cache, health and circuit
 * state carry over; `release()` when the execution is done with it.
 */
export async function acquireDirectCore(data: SwitchyardCredentialData): Promise<CoreLease> {
	if (!directCores) {
		const { createEmbeddedSwitchyard } = await loadCore();
		directCores ??= new CorePool({ create: createEmbeddedSwitchyard });
	}
	return directCores.acquire(directSettings(data));
}

/** Closes every pooled core now (tests; n8n itself never needs to: idle cores close themselves). */
export async function closeDirectCores(): Promise<void> {
	await directCores?.closeAll();
}

class DirectClient implements SwitchyardClient {
	readonly mode = 'direct' as const;
	/** The promise, not the lease: two calls racing to the first use still take one lease. */
	private lease?: Promise<CoreLease>;
	private readonly secrets: string[];

	constructor(
		private readonly node: INode,
		private readonly data: SwitchyardCredentialData,
	) {
		this.secrets = credentialSecrets(data);
	}

	private async embedded(): Promise<EmbeddedSwitchyard> {
		this.lease ??= acquireDirectCore(this.data);
		return (await this.lease).core;
	}

	async chat(body: ChatBody, settings: CallSettings = {}): Promise<Completion> {
		const core = await this.embedded();
		const started = Date.now();
		try {
			const response = await core.chat(body as unknown as Record<string, unknown>, {
				signal: settings.signal,
				deadlineMs: settings.timeoutMs,
			});
			return toCompletion(response as unknown as Record<string, unknown>, undefined, Date.now() - started);
		} catch (error) {
			const { describeCoreError } = await loadCore();
			const failure = describeCoreError(error);
			if (!failure) throw new NodeOperationError(this.node, redactError(error as Error, this.secrets));
			throw apiError(this.node, explainFailure(failure, 'direct', this.secrets), failureResponse(failure, this.secrets));
		}
	}

	async models(): Promise<ModelOption[]> {
		const core = await this.embedded();
		return directModelOptions(core.models());
	}

	/** Hands the core back to the pool: it stays open for the next execution until it idles out. */
	async close(): Promise<void> {
		const lease = this.lease;
		this.lease = undefined;
		(await lease)?.release();
	}
}

interface FullResponse {
	body: unknown;
	headers: Record<string, unknown>;
	statusCode: number;
}

class GatewayClient implements SwitchyardClient {
	readonly mode = 'gateway' as const;

	constructor(
		private readonly ctx: Ctx,
		private readonly baseUrl: string,
		private readonly secrets: readonly string[],
	) {}

	private async request(options: Omit<IHttpRequestOptions, 'url'> & { path: string }): Promise<FullResponse> {
		const { path, ...rest } = options;
		try {
			return (await this.ctx.helpers.httpRequestWithAuthentication.call(this.ctx, CREDENTIAL_NAME, {
				...rest,
				url: `${this.baseUrl}${path}`,
				json: true,
				returnFullResponse: true,
				ignoreHttpStatusErrors: true,
			})) as FullResponse;
		} catch (error) {
			// No HTTP answer (ignoreHttpStatusErrors turns those into responses): a timeout, a cancellation or no connection.
			const failure = networkFailure(error);
			const explained = explainNetworkFailure(this.baseUrl, failure, { timeoutMs: rest.timeout, secrets: this.secrets });
			throw apiError(this.ctx.getNode(), explained, { message: redact(failure.message ?? 'network error', this.secrets) });
		}
	}

	private check(res: FullResponse): Record<string, unknown> {
		const ok = res.statusCode >= 200 && res.statusCode < 300;
		if (ok && res.body && typeof res.body === 'object' && !Array.isArray(res.body)) return res.body as Record<string, unknown>;
		if (ok) {
			const explained = explainNotSwitchyard(this.baseUrl, res.statusCode, res.body, this.secrets);
			throw apiError(this.ctx.getNode(), explained, { message: explained.message });
		}
		const failure = failureFromBody(res.statusCode, res.body);
		throw apiError(this.ctx.getNode(), explainFailure(failure, 'gateway', this.secrets), failureResponse(failure, this.secrets));
	}

	async chat(body: ChatBody, settings: CallSettings = {}): Promise<Completion> {
		const started = Date.now();
		const res = await this.request({
			path: '/v1/chat/completions',
			method: 'POST',
			body: body as unknown as JsonObject,
			...(settings.timeoutMs ? { timeout: settings.timeoutMs } : {}),
			...(settings.signal ? { abortSignal: settings.signal } : {}),
		});
		return toCompletion(this.check(res), res.headers, Date.now() - started);
	}

	async models(): Promise<ModelOption[]> {
		return gatewayModelOptions(this.check(await this.request({ path: '/v1/models', method: 'GET' })));
	}

	async close(): Promise<void> {}
}

export async function switchyardClient(ctx: Ctx): Promise<SwitchyardClient> {
	const data = (await ctx.getCredentials(CREDENTIAL_NAME)) as SwitchyardCredentialData;
	return credentialMode(data) === 'gateway'
		? new GatewayClient(ctx, gatewayBaseUrl(data), credentialSecrets(data))
		: new DirectClient(ctx.getNode(), data);
}
