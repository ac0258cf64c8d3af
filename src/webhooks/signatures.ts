/**
 * Signature checks for every source, over the raw body bytes (never a decoded string: invalid
 * UTF-8 would decode to U+FFFD, so different bodies would share a signature and a correct HMAC of
 * the bytes sent would fail), with constant-time comparison.
 *
 * - Twilio: the official `twilio` package's validateRequest (it also tries the URL with and
 *   without the default port). Twilio signs the decoded form parameters, not the bytes, so
 *   parseForm refuses bodies that are not valid UTF-8 before they are decoded.
 * - Standard Webhooks: HMAC-SHA256 with node:crypto over `${id}.${timestamp}.` and the body bytes
 *   (the `standardwebhooks` package decodes a Buffer body to a string first); the package checks
 *   the secret's format. The timestamp window is checked against the injected clock.
 * - Meta (X-Hub-Signature-256), HubSpot v3 and Slack v0: plain HMAC-SHA256 with node:crypto.
 *   HubSpot's SDK helper throws on stale timestamps and compares with ===, and Slack's check
 *   lives inside the Bolt framework; each scheme is a few lines here, tested on the platforms'
 *   documented vectors.
 * Each verifier returns undefined when the request is authentic, else the reason (never a secret).
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import { Webhook } from 'standardwebhooks';

/** Constant-time string equality (lengths may leak, contents do not). */
export function safeEqual(a: string, b: string): boolean {
  const left = Buffer.from(a, 'utf8');
  const right = Buffer.from(b, 'utf8');
  if (left.length !== right.length) {
    timingSafeEqual(left, left);
    return false;
  }
  return timingSafeEqual(left, right);
}

function hmac(secret: string | Buffer, data: Buffer | string, encoding: 'hex' | 'base64'): string {
  return createHmac('sha256', secret).update(data).digest(encoding);
}

/** Meta (WhatsApp Cloud API): `X-Hub-Signature-256: sha256=<hex HMAC of the raw body>`. */
export function checkMetaSignature(rawBody: Buffer, header: string | undefined, appSecret: string): string | undefined {
  if (!header) return 'missing X-Hub-Signature-256 header';
  if (!header.startsWith('sha256=')) return 'X-Hub-Signature-256 must start with sha256=';
  const expected = `sha256=${hmac(appSecret, rawBody, 'hex')}`;
  return safeEqual(header.trim().toLowerCase(), expected) ? undefined : 'signature does not match';
}

/** The characters HubSpot's docs say to decode in the URI before signing (v3). */
const HUBSPOT_DECODE: ReadonlyArray<[RegExp, string]> = [
  [/%3A/gi, ':'],
  [/%2F/gi, '/'],
  [/%3F/gi, '?'],
  [/%40/gi, '@'],
  [/%21/gi, '!'],
  [/%24/gi, '$'],
  [/%27/gi, "'"],
  [/%28/gi, '('],
  [/%29/gi, ')'],
  [/%2A/gi, '*'],
  [/%2C/gi, ','],
  [/%3B/gi, ';'],
];

/** What every timestamped scheme (HubSpot, Slack, Standard Webhooks) checks a request with. */
interface TimedCheck {
  rawBody: Buffer;
  signature: string | undefined;
  timestamp: string | undefined;
  nowMs: number;
}

/**
 * The reason a signed timestamp header is unusable: not an epoch number in `unit`, or further
 * than `maxAgeMs` from now in either direction (a replay, or a clock far ahead).
 */
export function timestampProblem(name: string, value: string, unit: 'seconds' | 'milliseconds', nowMs: number, maxAgeMs: number): string | undefined {
  const digits = unit === 'seconds' ? /^\d{1,12}$/ : /^\d{1,16}$/;
  if (!digits.test(value)) return `${name} is not epoch ${unit}`;
  const sentMs = unit === 'seconds' ? Number(value) * 1000 : Number(value);
  return Math.abs(nowMs - sentMs) > maxAgeMs ? `${name} is outside the allowed window` : undefined;
}

/** `timestamp` is X-HubSpot-Request-Timestamp, epoch milliseconds. */
export interface HubSpotCheck extends TimedCheck {
  method: string;
  /** The full URL HubSpot called (https, host, path, query). */
  url: string;
  clientSecret: string;
  maxAgeMs: number;
}

/** HubSpot v3: base64 HMAC-SHA256 of method + URI + body + timestamp, within the time window. */
export function checkHubSpotSignature(c: HubSpotCheck): string | undefined {
  if (!c.signature || !c.timestamp) return 'missing X-HubSpot-Signature-v3 or X-HubSpot-Request-Timestamp header';
  const stale = timestampProblem('X-HubSpot-Request-Timestamp', c.timestamp, 'milliseconds', c.nowMs, c.maxAgeMs);
  if (stale) return stale;
  const uri = HUBSPOT_DECODE.reduce((u, [re, ch]) => u.replace(re, ch), c.url);
  const source = Buffer.concat([Buffer.from(`${c.method.toUpperCase()}${uri}`, 'utf8'), c.rawBody, Buffer.from(c.timestamp, 'utf8')]);
  return safeEqual(c.signature.trim(), hmac(c.clientSecret, source, 'base64')) ? undefined : 'signature does not match';
}

/** `timestamp` is X-Slack-Request-Timestamp, epoch seconds. */
export interface SlackCheck extends TimedCheck {
  signingSecret: string;
  maxAgeS: number;
}

/** Slack v0: `v0=` + hex HMAC-SHA256 of "v0:{timestamp}:{body}", within the time window. */
export function checkSlackSignature(c: SlackCheck): string | undefined {
  if (!c.signature || !c.timestamp) return 'missing X-Slack-Signature or X-Slack-Request-Timestamp header';
  const stale = timestampProblem('X-Slack-Request-Timestamp', c.timestamp, 'seconds', c.nowMs, c.maxAgeS * 1000);
  if (stale) return stale;
  const source = Buffer.concat([Buffer.from(`v0:${c.timestamp}:`, 'utf8'), c.rawBody]);
  return safeEqual(c.signature.trim(), `v0=${hmac(c.signingSecret, source, 'hex')}`) ? undefined : 'signature does not match';
}

/** Twilio: X-Twilio-Signature over the public URL and the sorted form parameters. */
export function checkTwilioSignature(
  authToken: string,
  signature: string | undefined,
  url: string,
  params: Record<string, string | string[]>,
): string | undefined {
  if (!signature) return 'missing X-Twilio-Signature header';
  // Required on first use: the twilio package costs ~10 MB of RSS to a gateway without Twilio flows.
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { validateRequest } = require('twilio/lib/webhooks/webhooks') as typeof import('twilio/lib/webhooks/webhooks');
  return validateRequest(authToken, signature, url, params) ? undefined : 'signature does not match (is the public URL configured as Twilio calls it?)';
}

/** `timestamp` is webhook-timestamp, epoch seconds. */
export interface StandardWebhookCheck extends TimedCheck {
  id: string | undefined;
  /** `whsec_` + base64. */
  secret: string;
  toleranceS: number;
}

/** `v1,` + base64 HMAC-SHA256 (key: the secret's base64 after `whsec_`) of `${id}.${timestamp}.` + the body bytes. */
export function standardWebhookSignature(secret: string, id: string, timestamp: string, body: Buffer): string {
  assertStandardWebhookSecret(secret);
  const key = Buffer.from(secret.startsWith('whsec_') ? secret.slice('whsec_'.length) : secret, 'base64');
  return `v1,${hmac(key, Buffer.concat([Buffer.from(`${id}.${timestamp}.`, 'utf8'), body]), 'base64')}`;
}

/** Standard Webhooks: any `v1,` entry of webhook-signature must match (key rotation sends several). */
export function checkStandardWebhook(c: StandardWebhookCheck): string | undefined {
  if (!c.id || !c.timestamp || !c.signature) return 'missing webhook-id, webhook-timestamp or webhook-signature header';
  const stale = timestampProblem('webhook-timestamp', c.timestamp, 'seconds', c.nowMs, c.toleranceS * 1000);
  if (stale) return stale;
  const expected = standardWebhookSignature(c.secret, c.id, c.timestamp, c.rawBody);
  const matches = c.signature
    .split(' ')
    .filter((s) => s.startsWith('v1,'))
    .some((s) => safeEqual(s, expected));
  return matches ? undefined : 'no matching signature in webhook-signature';
}

/** Standard Webhooks headers for an outgoing POST (callbacks). */
export function standardWebhookHeaders(secret: string, id: string, nowMs: number, body: string): Record<string, string> {
  const ts = Math.floor(nowMs / 1000);
  return {
    'webhook-id': id,
    'webhook-timestamp': String(ts),
    'webhook-signature': standardWebhookSignature(secret, id, String(ts), Buffer.from(body, 'utf8')),
  };
}

/** Throws when the secret is not a usable Standard Webhooks secret. */
export function assertStandardWebhookSecret(secret: string): void {
  new Webhook(secret);
}
