import { z } from 'zod';
import type { Bundle, HttpRequestOptionsWithUrl, HttpResponse, ZObject } from 'zapier-platform-core';
import { ChatResponseSchema, GatewayError, type RoutedChatRequest } from '../core';
import { connectionFrom, type GatewayConnection } from '../auth-data';
import { NO_SWITCHYARD_ERROR, StepError, clause, isProviderQuota, providerFromMessage, quotaAdvice, secretsOf, timeoutAdvice, toZapierError } from '../errors';
import { providerTitle } from '../providers';
import { STEP_MAX_TTFT_MS, type Deadline } from '../limits';
import { answerText, attemptLog } from './outcome';
import { AUTO_MODELS, roundUsd, type Backend, type ChatOutcome, type ModelChoice } from './types';

/** The `switchyard` object the gateway adds to every JSON answer (server's story.ts). */
const GatewayAttemptSchema = z.looseObject({
  model: z.string(),
  provider: z.string().optional(),
  outcome: z.string(),
  status: z.number().optional(),
  latency_ms: z.number().optional(),
});

const StorySchema = z.looseObject({
  model: z.string(),
  provider: z.string(),
  cost_usd: z.number().nonnegative().default(0),
  latency_ms: z.number().nonnegative().default(0),
  cached: z.boolean().default(false),
  attempts: z.union([z.array(GatewayAttemptSchema), z.number().int().nonnegative()]).default([]),
  reason: z.string().default(''),
});

const GatewayChatResponseSchema = ChatResponseSchema.extend({ switchyard: StorySchema });

const ModelListSchema = z.object({ data: z.array(z.looseObject({ id: z.string().min(1) })) });

const ErrorBodySchema = z.object({
  error: z.looseObject({ message: z.string(), type: z.string().nullish(), param: z.string().nullish(), code: z.string().nullish() }),
});

type GatewayRequest = HttpRequestOptionsWithUrl & { throwForThrottlingEarly?: boolean };

/** Sends the request to the gateway; 429s reach this app's afterResponse so the message can say more. */
function gatewayRequest(z: ZObject, request: GatewayRequest): Promise<HttpResponse> {
  return z.request({ ...request, throwForThrottlingEarly: false } as GatewayRequest);
}

/** Parses a gateway body, or explains that the URL does not point at a Switchyard server. */
export function parseGatewayBody<T>(schema: z.ZodType<T>, body: unknown, what: string): T {
  const parsed = schema.safeParse(body);
  if (!parsed.success) {
    throw new StepError(`The Gateway URL answered ${what} in an unexpected shape; check that it points at a Switchyard server.`, 'bad_gateway_response', 502);
  }
  return parsed.data;
}

export function createGatewayBackend(z: ZObject, conn: GatewayConnection): Backend {
  return {
    async chat(request: RoutedChatRequest, deadline: Deadline): Promise<ChatOutcome> {
      const remaining = deadline.remainingMs();
      if (remaining <= 0) throw new StepError(timeoutAdvice('The step ran out of time before calling a model'), 'timeout', 504);
      // The server's own deadline may be longer than a Zapier step: an upstream silent for too long is abandoned for the next candidate.
      const routing = { ...request.routing, max_ttft_ms: Math.min(request.routing?.max_ttft_ms ?? STEP_MAX_TTFT_MS, STEP_MAX_TTFT_MS, remaining) };
      const response = await gatewayRequest(z, {
        url: `${conn.baseUrl}/v1/chat/completions`,
        method: 'POST',
        body: { ...request, routing, stream: false },
        timeout: remaining,
      });
      const body = parseGatewayBody(GatewayChatResponseSchema, response.data, 'the chat request');
      const story = body.switchyard;
      const attempts = Array.isArray(story.attempts) ? story.attempts : [];
      return {
        ...answerText(body, story.model),
        model: story.model,
        provider: story.provider,
        costUsd: roundUsd(story.cost_usd),
        latencyMs: Math.round(story.latency_ms),
        attempts: Array.isArray(story.attempts) ? story.attempts.length : story.attempts,
        attemptLog: attemptLog(attempts.map((a) => ({ model: a.model, outcome: a.outcome, status: a.status, latencyMs: a.latency_ms }))),
        cached: story.cached,
        reason: story.reason,
        usage: body.usage,
      };
    },
    async models(): Promise<ModelChoice[]> {
      const response = await gatewayRequest(z, { url: `${conn.baseUrl}/v1/models`, method: 'GET' });
      const list = parseGatewayBody(ModelListSchema, response.data, 'the model list');
      const autoIds = new Set(AUTO_MODELS.map((m) => m.id));
      return [...AUTO_MODELS, ...list.data.filter((m) => !autoIds.has(m.id)).map((m) => ({ id: m.id, name: m.id }))];
    },
    close: async () => undefined,
  };
}

/**
 * Proves the URL is a Switchyard server (GET /v1/models) and that it accepts the key: the model
 * list is public, so an authenticated read of today's usage (GET /v1/usage) checks the key.
 */
export async function checkGateway(z: ZObject, conn: GatewayConnection, now = new Date()): Promise<{ models: number }> {
  const response = await gatewayRequest(z, { url: `${conn.baseUrl}/v1/models`, method: 'GET' });
  const models = parseGatewayBody(ModelListSchema, response.data, 'the model list').data.length;
  await fetchSpend(z, conn, now);
  return { models };
}

/** The gateway's OpenAI-shaped error body as a GatewayError (non-JSON bodies keep their status). */
export function gatewayErrorFromResponse(response: HttpResponse): GatewayError {
  let body: unknown;
  try {
    body = JSON.parse(response.content);
  } catch {
    body = undefined;
  }
  const parsed = ErrorBodySchema.safeParse(body);
  const retryAfter = response.getHeader('retry-after');
  const headers: Record<string, string> = retryAfter ? { 'retry-after': retryAfter } : {};
  if (!parsed.success) return new GatewayError(response.status, `HTTP ${response.status} from the Gateway URL`, { type: NO_SWITCHYARD_ERROR, headers });
  const { message, type, param, code } = parsed.data.error;
  return new GatewayError(response.status, message, { type: type ?? undefined, param: param ?? null, code: code ?? null, headers });
}

/** afterResponse: every failed gateway call becomes a Zapier error with an actionable message. */
export function gatewayErrorMiddleware(response: HttpResponse, z: ZObject, bundle: Bundle): HttpResponse {
  // A request that reads its own error statuses (skipThrowForStatus) gets them as they are.
  if (response.status < 400 || response.skipThrowForStatus) return response;
  const secrets = secretsOf(bundle.authData);
  let conn: GatewayConnection | undefined;
  try {
    const parsed = connectionFrom(bundle.authData);
    if (parsed.mode === 'gateway') conn = parsed;
  } catch {
    conn = undefined;
  }
  const err = gatewayErrorFromResponse(response);
  throw toZapierError(z, conn ? explainGatewayRefusal(conn, err) : err, secrets);
}

/** The environment variable the Switchyard server reads a provider's key from, e.g. OPENAI_API_KEY. */
function serverKeyVariable(provider: string): string {
  return `${provider.toUpperCase().replace(/[^A-Z0-9]+/g, '_')}_API_KEY`;
}

/**
 * A provider refused the key or the account behind it, in Gateway mode: that key lives on the
 * Switchyard server (its config or environment), not in the Zapier connection.
 */
function explainServerProviderKey(err: GatewayError): Error | undefined {
  const provider = providerFromMessage(err.message);
  if (err.code === 'upstream_auth') {
    const title = provider ? providerTitle(provider) : 'a provider';
    const variable = provider ? serverKeyVariable(provider) : 'OPENAI_API_KEY';
    return new StepError(
      `The Switchyard server's ${provider ? `${title} ` : ''}API key was rejected by ${title} (${clause(err.message)}). Fix the key in the Switchyard server's config or environment (e.g. ${variable}) and restart the server; Gateway mode does not use provider keys from the Zapier connection.`,
      'upstream_auth',
      err.status,
    );
  }
  if (isProviderQuota(err)) return quotaAdvice(provider, err.message, err.status, "the Switchyard server's key");
  return undefined;
}

/** 401/403 come from the gateway itself (its key check), not from a provider; an unknown route means the URL has an extra path. */
function explainGatewayRefusal(conn: GatewayConnection, err: GatewayError): Error {
  const providerKey = explainServerProviderKey(err);
  if (providerKey) return providerKey;
  if (err.code === 'unknown_route' || (err.status === 404 && err.code === null)) {
    return new StepError(
      `The Gateway URL ${conn.baseUrl} does not lead to the Switchyard API (${clause(err.message)}). Reconnect with only the server's address in the "Gateway URL" field, e.g. http://192.168.1.20:8787 or https://switchyard.example.com.`,
      'invalid_gateway_url',
      404,
    );
  }
  if (err.status === 401) {
    return new StepError(
      `The Switchyard server at ${conn.baseUrl} rejected the Gateway API Key (${clause(err.message)}). Create a key with "switchyard keys create" and paste it into the connection's "Gateway API Key" field.`,
      'gateway_auth',
      401,
    );
  }
  if (err.status === 403) {
    return new StepError(
      `The Switchyard server refused the request (${clause(err.message)}). The Gateway API Key may not be allowed this model: pick another model, or ask the server's admin to allow it.`,
      err.code ?? 'forbidden',
      403,
    );
  }
  return err;
}

const UsageListSchema = z.object({
  data: z.array(z.looseObject({ group: z.string(), calls: z.number().int().nonnegative(), cost_usd: z.number() })),
});

export interface SpendSummary {
  costUsd: number;
  calls: number;
}

/**
 * Whose spend GET /v1/usage counts for this connection: a gateway key reads only its own usage, the
 * server's admin key (or no key, on a server that requires none) reads every key's.
 */
export type SpendScope = 'api_key' | 'server';

/** A key id no key has: the server refuses a gateway key any other key's usage (403 on key_id). */
const SCOPE_PROBE_KEY_ID = 'switchyard-zapier-scope-probe';

/** Asks the server which of the two it applies to this connection's key; counts nothing (an empty range). */
export async function fetchSpendScope(z: ZObject, conn: GatewayConnection, now: Date): Promise<SpendScope> {
  const at = now.toISOString();
  const response = await gatewayRequest(z, {
    url: `${conn.baseUrl}/v1/usage`,
    method: 'GET',
    params: { group_by: 'key', from: at, key_id: SCOPE_PROBE_KEY_ID },
    skipThrowForStatus: true,
  });
  if (response.status < 300) return 'server';
  const err = gatewayErrorFromResponse(response);
  if (response.status === 403 && err.param === 'key_id') return 'api_key';
  throw explainGatewayRefusal(conn, err);
}

/** Spend since `from` (inclusive), from the server's usage log: the key's own, or everything for the admin key. */
export async function fetchSpend(z: ZObject, conn: GatewayConnection, from: Date): Promise<SpendSummary> {
  const response = await gatewayRequest(z, {
    url: `${conn.baseUrl}/v1/usage`,
    method: 'GET',
    params: { group_by: 'day', from: from.toISOString() },
  });
  const rows = parseGatewayBody(UsageListSchema, response.data, 'the usage query').data;
  return {
    costUsd: roundUsd(rows.reduce((sum, r) => sum + r.cost_usd, 0)),
    calls: rows.reduce((sum, r) => sum + r.calls, 0),
  };
}
