import type { Authentication, AuthField, Bundle, ZObject } from 'zapier-platform-core';
import { connectionFrom } from './auth-data';
import { DIRECT_PROVIDERS, keyFieldOf, providerTitle } from './providers';
import { checkDirectKeys } from './backends/direct';
import { checkGateway } from './backends/gateway';
import { StepError, secretsOf, sentences, toZapierError } from './errors';
import { AUTH_TEST_TIMEOUT_MS } from './limits';

const fields: AuthField[] = [
  {
    key: 'mode',
    label: 'Mode',
    required: true,
    default: 'direct',
    choices: [
      { value: 'direct', label: 'Direct: use my provider API keys', sample: 'direct' },
      { value: 'gateway', label: 'Gateway server: use my Switchyard server', sample: 'gateway' },
    ],
    isNoSecret: true,
    helpText:
      '**Direct** calls the AI providers with the keys below; nothing to host. **Gateway server** sends every step to your own Switchyard server, which holds the provider keys, budgets and usage log.',
  },
  ...DIRECT_PROVIDERS.map(
    (p): AuthField => ({
      key: p.field,
      label: p.label,
      type: 'password',
      required: false,
      helpText: `Direct mode only. Your ${p.title} key, from ${p.keysUrl}. Leave empty and ${p.title} is not used; fill in at least one provider.`,
    }),
  ),
  {
    key: 'gateway_url',
    label: 'Gateway URL',
    type: 'string',
    required: false,
    isNoSecret: true,
    placeholder: 'https://switchyard.example.com',
    helpText:
      'Gateway server mode only. The public address of your Switchyard server, e.g. `https://switchyard.example.com` or `http://203.0.113.5:8787` (a pasted `/v1` or `/v1/chat/completions` is ignored).',
  },
  {
    key: 'gateway_key',
    label: 'Gateway API Key',
    type: 'password',
    required: false,
    helpText: 'Gateway server mode only. A key created on the server with `switchyard keys create` (starts with `sk-sy-`).',
  },
];

export interface AuthTestResult {
  mode: 'direct' | 'gateway';
  label: string;
  providers: string[];
  models: number;
}

async function test(z: ZObject, bundle: Bundle): Promise<AuthTestResult> {
  try {
    const conn = connectionFrom(bundle.authData);
    if (conn.mode === 'gateway') {
      const { models } = await checkGateway(z, conn);
      return { mode: 'gateway', label: `Gateway ${new URL(conn.baseUrl).host}`, providers: [], models };
    }
    const checks = await checkDirectKeys(conn, AUTH_TEST_TIMEOUT_MS);
    const failed = checks.filter((c) => !c.ok);
    if (failed.length > 0) {
      const problems = failed.map((c) => {
        const field = keyFieldOf(c.provider);
        return `"${field?.label ?? c.provider}": ${c.problem}${field ? ` (get a key at ${field.keysUrl}, or clear the field)` : ''}`;
      });
      throw new StepError(sentences('Some keys did not work', problems.join('; ')), 'invalid_auth', 401);
    }
    return {
      mode: 'direct',
      label: `Direct: ${checks.map((c) => providerTitle(c.provider)).join(', ')}`,
      providers: checks.map((c) => c.provider),
      models: checks.reduce((n, c) => n + c.models, 0),
    };
  } catch (err) {
    throw toZapierError(z, err, secretsOf(bundle.authData));
  }
}

/** The label under which the connection appears in Zapier, from the test's result. */
async function connectionLabel(_z: ZObject, bundle: Bundle): Promise<string> {
  const label = (bundle.inputData as Partial<AuthTestResult>).label;
  return typeof label === 'string' && label ? label : 'Switchyard';
}

/** beforeRequest: the gateway key goes on requests to the gateway only. */
export function addGatewayKey<R extends { url: string; headers?: Record<string, string> }>(request: R, _z: ZObject, bundle: Bundle): R {
  let conn;
  try {
    conn = connectionFrom(bundle.authData);
  } catch {
    return request;
  }
  if (conn.mode === 'gateway' && conn.apiKey && request.url.startsWith(conn.baseUrl)) {
    request.headers = { ...request.headers, authorization: `Bearer ${conn.apiKey}` };
  }
  return request;
}

export const authentication = {
  type: 'custom',
  fields,
  test,
  connectionLabel,
} satisfies Authentication;
