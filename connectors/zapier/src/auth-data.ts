import { z } from 'zod';
import type { ProviderConfig } from './core';
import { StepError, sentences } from './errors';
import { DIRECT_PROVIDERS } from './providers';

/** Zapier sends untouched optional fields as "" or leaves them out. */
const trimmedOrUndefined = (value: unknown): unknown => {
  if (typeof value !== 'string') return value;
  const trimmed = value.trim();
  return trimmed === '' ? undefined : trimmed;
};

const OptionalSecret = z.preprocess(trimmedOrUndefined, z.string().optional());

/** An endpoint pasted with the address, e.g. ".../v1/chat/completions": the app adds the paths itself. */
const ENDPOINT_PATH = /\/(?:chat\/completions|models)$/i;

/** The server's address from what was typed: no trailing slash, no /v1 (its API lives there), no endpoint path. */
export function normalizeGatewayUrl(url: string): string {
  const trimmed = url.trim().replace(/\/+$/, '');
  return trimmed.replace(ENDPOINT_PATH, '').replace(/\/+$/, '').replace(/\/v1$/i, '');
}

const GatewayUrlSchema = z.preprocess(
  trimmedOrUndefined,
  z.url({ protocol: /^https?$/, error: 'must be an http(s) URL such as https://switchyard.example.com' }).transform(normalizeGatewayUrl),
);

const DirectAuthSchema = z.object({
  mode: z.literal('direct'),
  keys: z.record(z.string(), z.string()),
});

const GatewayAuthSchema = z.object({
  mode: z.literal('gateway'),
  gateway_url: GatewayUrlSchema,
  gateway_key: OptionalSecret,
});

export type DirectConnection = { mode: 'direct'; keys: Record<string, string> };
export type GatewayConnection = { mode: 'gateway'; baseUrl: string; apiKey?: string };
export type Connection = DirectConnection | GatewayConnection;

const ModeSchema = z.preprocess(trimmedOrUndefined, z.enum(['direct', 'gateway']).default('direct'));

/** The connection the user set up, validated; a problem names the connection field to fix. */
export function connectionFrom(authData: Record<string, unknown> | undefined): Connection {
  const data = authData ?? {};
  const mode = ModeSchema.safeParse(data.mode);
  if (!mode.success) throw new StepError('Connection field "Mode" must be "direct" or "gateway". Reconnect and pick one.', 'invalid_auth', 400);

  if (mode.data === 'gateway') {
    const parsed = GatewayAuthSchema.safeParse({ ...data, mode: 'gateway' });
    if (!parsed.success) {
      const problem = parsed.error.issues[0]?.message ?? 'is invalid';
      throw new StepError(sentences(`Connection field "Gateway URL" ${problem}`, 'Reconnect with the address of your Switchyard server.'), 'invalid_auth', 400);
    }
    return { mode: 'gateway', baseUrl: parsed.data.gateway_url, apiKey: parsed.data.gateway_key };
  }

  const keys: Record<string, string> = {};
  for (const provider of DIRECT_PROVIDERS) {
    const key = OptionalSecret.parse(data[provider.field]);
    if (key) keys[provider.name] = key;
  }
  if (Object.keys(keys).length === 0) {
    throw new StepError(
      `Direct mode needs at least one provider key: fill in one of ${DIRECT_PROVIDERS.map((p) => `"${p.label}"`).join(', ')} in the connection.`,
      'invalid_auth',
      400,
    );
  }
  return DirectAuthSchema.parse({ mode: 'direct', keys });
}

/** Core provider config for the keys of a Direct connection (only those set). */
export function directProviders(conn: DirectConnection): Record<string, ProviderConfig> {
  const providers: Record<string, ProviderConfig> = {};
  for (const provider of DIRECT_PROVIDERS) {
    const apiKey = conn.keys[provider.name];
    if (apiKey) providers[provider.name] = { ...provider.config, api_key: apiKey, enabled: true };
  }
  return providers;
}
