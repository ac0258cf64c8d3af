/**
 * Generic webhooks: `POST /hooks/:flow` with a JSON object, authenticated by Standard Webhooks
 * signatures (webhook-id / webhook-timestamp / webhook-signature) or a per-flow bearer token.
 * - No `callback_url`: the request waits for the flow's result (up to `sync_timeout_ms`) and
 *   answers 200 with it, 502 with the job and an OpenAI-style error when it failed for good, or
 *   202 with the job id when it takes longer (or the workers are stopping).
 * - With `callback_url`: 202 with the job id at once; the result is POSTed to that URL, signed
 *   with the flow's `callback_secret` (Standard Webhooks), webhook-id = job id. The POST reaches
 *   public addresses only (checked when it connects), unless the flow lists the host in
 *   `callback_hosts` and sets `callback_allow_private`; redirects are never followed.
 * `GET /hooks/jobs/:id` returns a job's state and result.
 * Idempotency: a signed request is keyed on its (signed) webhook-id, a token request on its
 * Idempotency-Key header; the two never meet (`webhook-id:` / `idempotency-key:` prefixes), so
 * neither way of calling can read the other's results. The key is bound to the SHA-256 of the raw
 * body: the same key with another body is refused with 422 (like Stripe), never answered with
 * the first request's result. Requests without a key are never deduplicated; an empty or overlong
 * Idempotency-Key is a 400 (an empty one would be a single key shared by all callers). A key whose
 * job was pruned (webhooks.retention_days) stays used for webhooks.dedupe_days: 409, since the
 * result is gone and a new request needs a new key.
 *
 * Fields: body.* (the JSON body without callback_url), flow.
 */
import { isIP } from 'node:net';
import { createHash, randomUUID } from 'node:crypto';
import { GatewayError } from '../../core/errors';
import { deliverResult } from '../clients/callback';
import { isPublicAddress } from '../clients/egress';
import type { FlowOf, RespondAction } from '../config';
import { bareHost, canonicalHost } from '../hosts';
import { UNIQUE_KEY_PREFIX, type Job } from '../queue/queue';
import { checkStandardWebhook, safeEqual } from '../signatures';
import { JobError, WebhookError, type AcceptedEvent, type FlowResult, type HttpReply, type InboundRequest } from '../types';
import { jobView } from '../views';
import { header, isObject, jsonReply, parseJsonBody, unauthorized, type Source } from './source';

export function statusUrl(jobId: string): string {
  return `/hooks/jobs/${jobId}`;
}

function accepted(job: Job): HttpReply {
  const url = statusUrl(job.id);
  return jsonReply(202, { ...jobView(job), status_url: url }, { location: url });
}

/** A dead job's sync answer: its fields and status_url, with an OpenAI-style `error` object. */
function failed(job: Job): HttpReply {
  const error = new GatewayError(502, job.lastError ?? 'The flow failed.', { code: 'flow_failed' }).toBody();
  return jsonReply(502, { ...jobView(job), status_url: statusUrl(job.id), ...error });
}

function answered(job: Job, result: FlowResult | undefined): HttpReply {
  if (!result && job.state === 'dead') return failed(job);
  if (!result) return accepted(job);
  return jsonReply(200, { ...jobView(job), status: 'done', output: result.json ?? result.text, model: result.model, provider: result.provider });
}

/** A key of a job pruned earlier: its result is gone, and the key may not start a new job. */
function keyOfPrunedJob(header: string): HttpReply {
  const message = `This ${header} was already used, for a job that is no longer kept (webhooks.retention_days); use a new ${header} for a new request.`;
  return jsonReply(409, new GatewayError(409, message, { code: 'idempotency_key_expired', param: header }).toBody());
}

function callbackUrlOf(body: Record<string, unknown>, flow: FlowOf<'generic'>): string | undefined {
  const raw = body.callback_url;
  if (raw === undefined) return undefined;
  if (typeof raw !== 'string') throw new WebhookError(400, 'callback_url must be a string.', 'invalid_value', 'callback_url');
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new WebhookError(400, 'callback_url is not a valid URL.', 'invalid_value', 'callback_url');
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') throw new WebhookError(400, 'callback_url must be http(s).', 'invalid_value', 'callback_url');
  if (flow.action.type !== 'respond' || !flow.action.callback_secret) {
    throw new WebhookError(400, 'This flow does not send callbacks (its action has no callback_secret).', 'callback_not_allowed', 'callback_url');
  }
  const problem = callbackHostProblem(url, flow.action);
  if (problem) throw new WebhookError(400, problem, 'callback_not_allowed', 'callback_url');
  return url.toString();
}

/**
 * Why the flow refuses a callback to this URL's host, if it does. Names and literal addresses are
 * checked here so the caller gets a 400; the addresses a name resolves to are checked when the
 * callback connects (clients/egress.ts).
 */
function callbackHostProblem(url: URL, action: RespondAction): string | undefined {
  const hosts = action.callback_hosts;
  if (hosts && !hosts.includes(canonicalHost(url.hostname))) return `callback_url host '${url.hostname}' is not allowed for this flow.`;
  if (action.callback_allow_private || !isInternalHost(url.hostname)) return undefined;
  const how = hosts ? "set the flow's action.callback_allow_private" : "list it in the flow's action.callback_hosts and set action.callback_allow_private";
  return `callback_url host '${url.hostname}' is internal; ${how} to allow it.`;
}

/**
 * Local names, and literal addresses that are not public (loopback, private, link-local, NAT64 or
 * 6to4 of those...). A trailing dot names the same host ("localhost.", "metadata.google.internal.").
 */
export function isInternalHost(hostname: string): boolean {
  const host = bareHost(hostname);
  if (host === 'localhost' || host.endsWith('.localhost') || host.endsWith('.local') || host.endsWith('.internal')) return true;
  return isIP(host) !== 0 && !isPublicAddress(host);
}

/** How a generic request proved it may call the flow; it decides where its idempotency key comes from. */
export type GenericAuth = 'signature' | 'token';

/** Longest Idempotency-Key accepted. */
export const MAX_IDEMPOTENCY_KEY = 255;

/** A present Idempotency-Key must be a real key: an empty one would be one key shared by every request. */
function checkIdempotencyKey(value: string): void {
  let problem: string | undefined;
  if (value.trim() === '') problem = 'is empty; send a unique key per request, or no header';
  else if (value.length > MAX_IDEMPOTENCY_KEY) problem = `is longer than ${MAX_IDEMPOTENCY_KEY} characters`;
  if (problem) throw new WebhookError(400, `The Idempotency-Key header ${problem}.`, 'invalid_idempotency_key', 'Idempotency-Key');
}

/** The request's dedupe key, scoped by how it authenticated and bound to its body's hash. */
function idempotencyOf(req: InboundRequest, auth: GenericAuth): Pick<AcceptedEvent, 'key' | 'idempotency'> {
  const name = auth === 'signature' ? 'webhook-id' : 'Idempotency-Key';
  const value = header(req, name);
  if (value === undefined) return { key: `${UNIQUE_KEY_PREFIX}${randomUUID()}` };
  if (auth === 'token') checkIdempotencyKey(value);
  const bodySha256 = createHash('sha256').update(req.rawBody).digest('hex');
  return { key: `${name.toLowerCase()}:${value}`, idempotency: { bodySha256, header: name } };
}

export const genericSource: Source<'generic', GenericAuth> = {
  name: 'generic',

  verify(req, flow, nowMs) {
    const g = flow.generic;
    const signature = header(req, 'webhook-signature');
    const auth = header(req, 'authorization');
    if (g.signing_secret && signature !== undefined) {
      const problem = checkStandardWebhook({
        rawBody: req.rawBody,
        id: header(req, 'webhook-id'),
        timestamp: header(req, 'webhook-timestamp'),
        signature,
        secret: g.signing_secret,
        nowMs,
        toleranceS: g.max_age_s,
      });
      if (problem) throw unauthorized(problem);
      return 'signature';
    }
    if (g.bearer_token && auth !== undefined) {
      const token = /^Bearer\s+(.+)$/i.exec(auth)?.[1]?.trim() ?? '';
      // Worded so that nothing reads as a credential: redactSecrets masks "Bearer <word>".
      if (!safeEqual(token, g.bearer_token)) throw new WebhookError(401, "The Authorization header does not carry this flow's token.", 'invalid_token');
      return 'token';
    }
    if (g.signing_secret) throw unauthorized(g.bearer_token ? "missing webhook-signature header (or an Authorization header with this flow's token)" : 'missing webhook-signature header');
    throw new WebhookError(401, "The request has no Authorization header; send this flow's token in it.", 'invalid_token');
  },

  intake(req, flow, flowName, auth) {
    const body = parseJsonBody(req);
    if (!isObject(body)) throw new WebhookError(400, 'The request body must be a JSON object.', 'invalid_body');
    const callbackUrl = callbackUrlOf(body, flow);
    const { callback_url: _omit, ...fields } = body;
    const sync = callbackUrl === undefined && flow.action.type === 'respond';
    const idempotency = idempotencyOf(req, auth);
    return {
      kind: 'enqueue',
      events: [{ ...idempotency, payload: { fields: { body: fields, flow: flowName }, callbackUrl } }],
      // No job: only a keyed request can be a duplicate, so the header is there.
      ack: ([first]) => (first?.job ? accepted(first.job) : keyOfPrunedJob(idempotency.idempotency?.header ?? 'idempotency key')),
      wait: sync ? { ms: flow.generic.sync_timeout_ms, respond: answered, onDuplicate: 'wait' } : undefined,
    };
  },

  async answer(job, result, flow, ctx) {
    if (flow.action.type !== 'respond' || !job.payload.callbackUrl) return 'result stored';
    const secret = flow.action.callback_secret;
    if (!secret) return 'result stored';
    // The flow may have been reloaded with stricter hosts since the request was accepted.
    const problem = callbackHostProblem(new URL(job.payload.callbackUrl), flow.action);
    if (problem) throw new JobError(`callback: ${problem}`, { retryable: false });
    // Listed hosts of a flow that allows private addresses connect anywhere; all else only to public addresses.
    const dispatcher = flow.action.callback_allow_private ? undefined : ctx.callbackDispatcher();
    return deliverResult(job.payload.callbackUrl, secret, job, result, ctx, dispatcher);
  },
};
