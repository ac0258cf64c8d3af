import type { ZObject } from 'zapier-platform-core';
import { GatewayError, ProviderError, redactSecrets } from './core';
import { providerTitle, keyFieldOf } from './providers';

/** A failure the user fixes by changing an input or the connection; shown as is. */
export class StepError extends Error {
  constructor(
    message: string,
    readonly code: string,
    readonly status?: number,
  ) {
    super(message);
    this.name = 'StepError';
  }
}

/** A rate limit: Zapier retries the step after `delaySeconds`. */
export class RetryLaterError extends Error {
  constructor(
    message: string,
    readonly delaySeconds?: number,
  ) {
    super(message);
    this.name = 'RetryLaterError';
  }
}

/** Zapier's own error classes carry their payload as JSON in `message`; they pass through untouched. */
const ZAPIER_ERROR_NAMES = new Set(['AppError', 'ThrottledError', 'HaltedError', 'ExpiredAuthError', 'RefreshAuthError']);

/** Removes every credential from a message: known key shapes, and the exact values the user entered. */
export function scrub(message: string, secrets: readonly string[]): string {
  let out = redactSecrets(message);
  for (const secret of secrets) {
    if (secret.length >= 4) out = out.split(secret).join('[redacted]');
  }
  return out;
}

/** Every value of the connection that must never appear in a message. */
export function secretsOf(authData: Record<string, unknown> | undefined): string[] {
  return Object.entries(authData ?? {})
    .filter(([key, value]) => typeof value === 'string' && /key|token|secret|password/i.test(key))
    .map(([, value]) => String(value).trim())
    .filter((value) => value.length > 0);
}

/** Ends `text` as a sentence: adds a period unless it already ends with one (or with ! ? or a closing quote after them). */
export function sentence(text: string): string {
  const trimmed = text.trim();
  return /[.!?…]["')\]]*$/.test(trimmed) ? trimmed : `${trimmed}.`;
}

/** Sentences joined with one space, each ended once: "no provider offers it." + "Pick a model" never gives "it.. Pick". */
export function sentences(...parts: string[]): string {
  return parts.map(sentence).join(' ');
}

/** An upstream message quoted inside a sentence, e.g. in parentheses: without its closing period. */
export function clause(text: string): string {
  return text.trim().replace(/\.+$/, '');
}

function retryAfterSeconds(ms: number | undefined): number | undefined {
  return ms === undefined ? undefined : Math.max(1, Math.ceil(ms / 1000));
}

/** "openai" from "openai: upstream rejected ..." or "... Last error: openai: ...". */
export function providerFromMessage(message: string): string | undefined {
  return /(?:^|Last error: )([a-z0-9_-]+):\s/i.exec(message)?.[1]?.toLowerCase();
}

/** Names each rejected key by its connection field and says where to get a valid one. */
export function authAdvice(providers: readonly string[], detail: string): StepError {
  const known = providers.map((p) => keyFieldOf(p)).filter((f) => f !== undefined);
  if (known.length === 0) {
    return new StepError(`A provider rejected its API key (${clause(detail)}). Check the provider keys in the Switchyard connection.`, 'provider_auth', 401);
  }
  const who = known.map((f) => f.title).join(' and ');
  const fix = known.map((f) => `paste a valid key into "${f.label}" (get one at ${f.keysUrl}) or clear it`).join('; ');
  return new StepError(`${who} rejected the API key (${clause(detail)}). Open the Switchyard connection in Zapier and ${fix}.`, 'provider_auth', 401);
}

/**
 * The provider account behind a key is out of credit or over its quota (OpenAI 429 `insufficient_quota`,
 * a 402 from OpenRouter or DeepSeek, Anthropic's billing_error): waiting will not help, so it is not retried.
 * `keyHolder` says whose key it is: the connection's field (Direct) or the Switchyard server's (Gateway).
 */
export function quotaAdvice(provider: string | undefined, detail: string, status: number, keyHolder?: string): StepError {
  const title = provider ? providerTitle(provider) : 'A provider';
  const account = provider ? `the ${title} account` : 'that provider account';
  const holder = keyHolder ?? (provider && keyFieldOf(provider) ? `the key in "${keyFieldOf(provider)?.label}"` : 'the key');
  return new StepError(
    `${title} reports that its account is out of credit or over its usage quota (${clause(detail)}). Waiting will not help: add credit or raise the spending limit in the billing settings of ${account} behind ${holder}, or add fallback models from another provider.`,
    'insufficient_quota',
    status,
  );
}

function fromProviderError(err: ProviderError): Error {
  const title = err.provider ? providerTitle(err.provider) : 'The provider';
  switch (err.kind) {
    case 'rate_limited':
      if (!err.retryable) return quotaAdvice(err.provider, err.message, err.status ?? 429);
      return new RetryLaterError(`${title} is rate limiting requests: ${err.message}`, retryAfterSeconds(err.retryAfterMs));
    case 'auth':
      return authAdvice(err.provider ? [err.provider] : [], err.message);
    case 'bad_request':
    case 'context_length_exceeded':
    case 'content_filter':
      return new StepError(`${title} refused the request: ${err.message}`, err.kind, 400);
    case 'timeout':
      return new StepError(timeoutAdvice(`${title} did not answer in time`), 'timeout', 504);
    default:
      return new StepError(sentences(`${title} failed: ${err.message}`, 'Try again, or add fallback models or another provider key.'), err.kind, err.status ?? 502);
  }
}

export function timeoutAdvice(what: string): string {
  return `${clause(what)} (a Zapier step must finish within 30 seconds). Choose a faster model, set Prefer to "latency", or lower Max Tokens.`;
}

function fromGatewayError(err: GatewayError): Error {
  const retryAfter = Number(err.headers['retry-after']);
  if (isBudgetRefusal(err)) {
    return new StepError(sentences(err.message, "Raise the key's budget on the Switchyard server, or wait until it resets."), err.code ?? 'budget_exceeded', err.status);
  }
  if (isProviderQuota(err)) return quotaAdvice(providerFromMessage(err.message), err.message, err.status);
  if (err.status === 429) {
    return new RetryLaterError(err.message, Number.isFinite(retryAfter) && retryAfter > 0 ? Math.ceil(retryAfter) : undefined);
  }
  if (err.code === 'upstream_auth') {
    const provider = providerFromMessage(err.message);
    return authAdvice(provider ? [provider] : [], err.message);
  }
  if (err.code === 'model_not_found' || err.code === 'no_model_available') {
    return new StepError(
      sentences(err.message, 'Pick a model from the Model dropdown (it lists the models your connection can reach) or choose Auto.'),
      err.code,
      err.status,
    );
  }
  if (err.status === 504 || err.code === 'upstream_timeout' || err.code === 'deadline_exceeded') {
    return new StepError(timeoutAdvice(`No model answered in time: ${err.message}`), err.code ?? 'timeout', err.status);
  }
  if (isBareHttpStatus(err)) {
    return new StepError(
      `The Switchyard server (or a proxy in front of it) answered HTTP ${err.status} without a Switchyard error. Check that the Switchyard server is running and reachable at the Gateway URL, then try again.`,
      'bad_gateway_response',
      err.status,
    );
  }
  if (err.status >= 500) {
    return new StepError(sentences(`Every model failed: ${err.message}`, 'Try again, or add fallback models or another provider key.'), err.code ?? 'upstream_error', err.status);
  }
  return new StepError(err.message, err.code ?? 'invalid_request', err.status);
}

/** The Switchyard key's own spending budget is used up (src/server/access.ts sends type `budget_exceeded`). */
function isBudgetRefusal(err: GatewayError): boolean {
  return err.type === 'budget_exceeded';
}

/** A provider's account is out of credit: `insufficient_quota` (the core's mapping of a non-retryable quota) or a 402. */
export function isProviderQuota(err: GatewayError): boolean {
  return !isBudgetRefusal(err) && (err.code === 'insufficient_quota' || err.status === 402);
}

/** The `type` of a GatewayError built from an answer that carried no Switchyard error body (e.g. a proxy's HTML page). */
export const NO_SWITCHYARD_ERROR = 'no_switchyard_error';

/** A 5xx with no Switchyard error body: the server is down or a proxy in front of it failed, not the models. */
function isBareHttpStatus(err: GatewayError): boolean {
  return err.status >= 500 && err.type === NO_SWITCHYARD_ERROR;
}

/** Node's fetch and node-fetch report network failures differently; both become one message. */
function fromNetworkError(err: Error & { type?: string; code?: string }): Error | undefined {
  if (err.name === 'FetchError' && err.type === 'request-timeout') {
    return new StepError(timeoutAdvice('The Switchyard gateway did not answer in time'), 'timeout', 504);
  }
  if (err.name === 'FetchError' || err.name === 'AbortError' || err.name === 'TimeoutError') {
    return new StepError(sentences(`Could not reach the server: ${err.message}`, 'Check the Gateway URL in the connection.'), 'network', 502);
  }
  return undefined;
}

/** What Zapier should see for `err`: its own error classes, with a message free of secrets. */
export function toZapierError(z: ZObject, err: unknown, secrets: readonly string[]): Error {
  if (err instanceof Error && ZAPIER_ERROR_NAMES.has(err.name)) return err;
  let mapped: Error;
  if (err instanceof StepError || err instanceof RetryLaterError) mapped = err;
  else if (err instanceof ProviderError) mapped = fromProviderError(err);
  else if (err instanceof GatewayError) mapped = fromGatewayError(err);
  else if (err instanceof Error) mapped = fromNetworkError(err) ?? new StepError(`Unexpected error: ${err.message}`, 'internal', 500);
  else mapped = new StepError(`Unexpected error: ${String(err)}`, 'internal', 500);

  const message = scrub(mapped.message, secrets);
  if (mapped instanceof RetryLaterError) return new z.errors.ThrottledError(message, mapped.delaySeconds);
  const step = mapped as StepError;
  return new z.errors.Error(message, step.code, step.status);
}
