import { z } from 'zod';

export const ErrorKindSchema = z.enum([
  'rate_limited',
  'overloaded',
  'timeout',
  'auth',
  'bad_request',
  'context_length_exceeded',
  'content_filter',
  'upstream_error',
]);
export type ErrorKind = z.infer<typeof ErrorKindSchema>;

const RETRYABLE_KINDS: ReadonlySet<ErrorKind> = new Set(['rate_limited', 'overloaded', 'timeout', 'upstream_error']);

export interface ProviderErrorInit {
  kind: ErrorKind;
  message: string;
  provider?: string;
  status?: number;
  retryable?: boolean;
  retryAfterMs?: number;
  /** The provider's own error code or type, e.g. "overloaded_error". */
  upstreamCode?: string;
  /** True when part of the answer was already delivered to the caller (no silent retry possible). */
  partial?: boolean;
  /** The request field the provider's error named (OpenAI's `param`), relayed on client errors. */
  param?: string;
  cause?: unknown;
}

const SECRET_PATTERNS: RegExp[] = [
  /\b(?:sk|pk|rk|gsk|xai|sk-ant|sk-or|sk-sy|sk-proj)[-_][A-Za-z0-9_-]{2,}/g,
  /\bAIza[0-9A-Za-z_-]{10,}/g,
  /\b(Bearer|Basic)\s+[A-Za-z0-9._~+/=-]+/gi,
  /([?&](?:key|api_key|apikey|token|access_token)=)[^&\s"']+/gi,
];

/** Masks anything that looks like a credential; upstream messages sometimes echo the key back. */
export function redactSecrets(text: string): string {
  let out = text;
  for (const re of SECRET_PATTERNS) {
    out = out.replace(re, (match: string, prefix?: string) =>
      typeof prefix === 'string' && prefix.startsWith('?') || typeof prefix === 'string' && prefix.startsWith('&')
        ? `${prefix}[redacted]`
        : /^(Bearer|Basic)\s/i.test(match) ? `${match.split(/\s/)[0]} [redacted]` : '[redacted]',
    );
  }
  return out;
}

/** The one error type every adapter throws; the router decides retries and fallback from it. */
export class ProviderError extends Error {
  readonly kind: ErrorKind;
  readonly provider?: string;
  readonly status?: number;
  readonly retryable: boolean;
  readonly retryAfterMs?: number;
  readonly upstreamCode?: string;
  readonly partial: boolean;
  readonly param?: string;

  constructor(init: ProviderErrorInit) {
    super(redactSecrets(init.message), { cause: init.cause });
    this.name = 'ProviderError';
    this.kind = init.kind;
    this.provider = init.provider;
    this.status = init.status;
    this.retryable = init.retryable ?? RETRYABLE_KINDS.has(init.kind);
    this.retryAfterMs = init.retryAfterMs;
    this.upstreamCode = init.upstreamCode;
    this.partial = init.partial ?? false;
    if (init.param !== undefined) this.param = redactSecrets(init.param);
  }
}

/** OpenAI's error body: `{"error":{"message","type","param","code"}}`. */
export interface OpenAIErrorBody {
  error: { message: string; type: string; param: string | null; code: string | null };
}

/** An error meant for the gateway's caller, with the HTTP status to answer with. */
export class GatewayError extends Error {
  readonly status: number;
  readonly type: string;
  readonly param: string | null;
  readonly code: string | null;
  readonly headers: Record<string, string>;

  constructor(
    status: number,
    message: string,
    opts: { type?: string; param?: string | null; code?: string | null; headers?: Record<string, string> } = {},
  ) {
    super(redactSecrets(message));
    this.name = 'GatewayError';
    this.status = status;
    this.type = opts.type ?? defaultErrorType(status);
    this.param = opts.param == null ? null : redactSecrets(opts.param);
    this.code = opts.code ?? null;
    this.headers = opts.headers ?? {};
  }

  toBody(): OpenAIErrorBody {
    return { error: { message: this.message, type: this.type, param: this.param, code: this.code } };
  }
}

function defaultErrorType(status: number): string {
  if (status === 401) return 'authentication_error';
  if (status === 403) return 'permission_error';
  if (status === 404) return 'not_found_error';
  if (status === 429) return 'rate_limit_error';
  if (status < 500) return 'invalid_request_error';
  return 'api_error';
}

/** `messages[0].content` from zod's path. */
export function formatPath(path: ReadonlyArray<PropertyKey>): string {
  let out = '';
  for (const key of path) {
    if (typeof key === 'number') out += `[${key}]`;
    else out += out ? `.${String(key)}` : String(key);
  }
  return out;
}

type ZodIssue = z.ZodError['issues'][number];

/**
 * The field a zod issue is about, or null when it is about the whole input. An unrecognized key is
 * named itself (`routing.bogus`), not the object that holds it. `prefix` locates the input, e.g.
 * "x-switchyard-route." for a header: a root issue then names the header.
 */
export function issueParam(issue: ZodIssue, prefix = ''): string | null {
  const key = issue.code === 'unrecognized_keys' ? issue.keys[0] : undefined;
  const path = formatPath(key === undefined ? issue.path : [...issue.path, key]);
  if (path) return prefix + path;
  return prefix.replace(/\.$/, '') || null;
}

/** What is wrong, in words: "unrecognized key 'bogus'", or "'temperature': Too big: ...". */
export function issueMessage(issue: ZodIssue, prefix = ''): string {
  if (issue.code === 'unrecognized_keys') {
    const names = issue.keys.map((key) => `'${prefix}${formatPath([...issue.path, key])}'`);
    return `unrecognized key${names.length > 1 ? 's' : ''} ${names.join(', ')}`;
  }
  const param = issueParam(issue, prefix);
  return param === null ? issue.message : `'${param}': ${issue.message}`;
}

/** Turns the first zod issue into a 400 that names the offending field (null when it is the whole input). */
export function validationError(error: z.ZodError, prefix = ''): GatewayError {
  const issue = error.issues[0];
  const param = issue ? issueParam(issue, prefix) : prefix.replace(/\.$/, '') || null;
  const detail = issue ? issueMessage(issue, prefix) : 'invalid input';
  const more = error.issues.length > 1 ? ` (and ${error.issues.length - 1} more problem(s))` : '';
  return new GatewayError(400, `Invalid request: ${detail}${more}`, { param, code: 'invalid_value' });
}

/** Maps a provider error to what the gateway's caller sees. */
export function gatewayErrorFromProvider(err: ProviderError): GatewayError {
  const name = err.provider ? `${err.provider}: ` : '';
  switch (err.kind) {
    case 'rate_limited': {
      // An exhausted quota or billing limit will not clear by waiting: say so, with no Retry-After.
      if (!err.retryable) return new GatewayError(429, `${name}${err.message}`, { code: 'insufficient_quota' });
      const headers: Record<string, string> = {};
      if (err.retryAfterMs !== undefined) headers['retry-after'] = String(Math.ceil(err.retryAfterMs / 1000));
      return new GatewayError(429, `${name}${err.message}`, { code: 'rate_limit_exceeded', headers });
    }
    case 'auth':
      return new GatewayError(502, `${name}upstream rejected the provider API key: ${err.message}`, {
        type: 'api_error',
        code: 'upstream_auth',
      });
    case 'bad_request':
      return new GatewayError(400, `${name}${err.message}`, { param: err.param, code: relayedCode(err.upstreamCode) ?? 'upstream_bad_request' });
    case 'context_length_exceeded':
      return new GatewayError(400, `${name}${err.message}`, { param: err.param, code: 'context_length_exceeded' });
    case 'content_filter':
      return new GatewayError(400, `${name}${err.message}`, { param: err.param, code: 'content_filter' });
    case 'timeout':
      return new GatewayError(504, `${name}${err.message}`, { code: 'upstream_timeout' });
    case 'overloaded':
      return new GatewayError(503, `${name}${err.message}`, { code: 'upstream_overloaded' });
    default:
      return new GatewayError(502, `${name}${err.message}`, { code: 'upstream_error' });
  }
}

/**
 * An upstream's own code for a rejected request, e.g. "invalid_value". Error types such as
 * "invalid_request_error" (what OpenAI-style bodies carry when their code is null) are not codes.
 */
function relayedCode(code: string | undefined): string | undefined {
  return code === undefined || code.endsWith('_error') ? undefined : code;
}
