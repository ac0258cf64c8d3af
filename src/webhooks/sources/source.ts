/**
 * One module per platform behind this interface. The HTTP layer calls, in order:
 * `handshake` (GET only), `verify` (before anything is read), `intake` (what to enqueue and how
 * to acknowledge). Workers call `load` (extra fields at processing time) and `answer` (send the
 * result back where the event came from).
 */
import { MAX_JSON_DEPTH, nestsDeeperThan } from '../../core/json-depth';
import type { OutboundContext } from '../clients/http';
import type { FlowOf, SourceName } from '../config';
import type { Enqueued, Job } from '../queue/queue';
import { WebhookError, type AcceptedEvent, type FlowResult, type HttpReply, type InboundRequest, type JobPayload } from '../types';

/**
 * `Verified` is what verify() read to authenticate the request (Twilio: the signed form); the
 * router hands it to intake(), so the body is parsed once and intake reads what was verified.
 */
export interface Source<S extends SourceName = SourceName, Verified = unknown> {
  readonly name: S;
  /** GET on the webhook URL (WhatsApp's subscription handshake); absent means GET is not served. */
  handshake?(req: InboundRequest, flow: FlowOf<S>): HttpReply;
  /** Throws WebhookError 401 unless the request is authentic and fresh. */
  verify(req: InboundRequest, flow: FlowOf<S>, nowMs: number): Verified;
  /** Reads a verified request; throws WebhookError 400 when it is malformed. */
  intake(req: InboundRequest, flow: FlowOf<S>, flowName: string, verified: Verified): Intake;
  /** Fields only available at processing time (HubSpot: the contact's properties). */
  load?(payload: JobPayload, flow: FlowOf<S>, ctx: OutboundContext): Promise<Record<string, unknown>>;
  /** Sends the result back to the origin; returns what was done, for the job's record. */
  answer?(job: Job, result: FlowResult, flow: FlowOf<S>, ctx: OutboundContext): Promise<string>;
}

/** The outcome of reading a verified request. */
export type Intake =
  /** Nothing to enqueue (handshake, status callback, the bot's own message): answer at once. */
  | { kind: 'respond'; reply: HttpReply }
  /** Events to enqueue; `ack` answers once they are durable (unless `wait` answers with the result). */
  | { kind: 'enqueue'; events: AcceptedEvent[]; ack: (enqueued: Enqueued[]) => HttpReply; wait?: SyncWait };

/** Answer in the webhook's own response when the result is ready within `ms` (TwiML, generic sync). */
export interface SyncWait {
  ms: number;
  /** The response with the result, or without it (undefined) once the wait is over. */
  respond(job: Job, result: FlowResult | undefined): HttpReply;
  /**
   * A duplicate delivery: 'wait' answers it like the first (with the stored or awaited result);
   * 'ack' answers without the result, so a platform retry never delivers the answer twice.
   */
  onDuplicate: 'wait' | 'ack';
}

/** A header's single value. */
export function header(req: InboundRequest, name: string): string | undefined {
  const v = req.headers[name.toLowerCase()];
  return Array.isArray(v) ? v[0] : v;
}

export function unauthorized(reason: string): WebhookError {
  return new WebhookError(401, `Webhook signature check failed: ${reason}.`, 'invalid_signature');
}

/** The body as JSON, or a 400 naming the problem. */
export function parseJsonBody(req: InboundRequest): unknown {
  const text = req.rawBody.toString('utf8');
  if (text.trim() === '') throw new WebhookError(400, 'The request body is empty; expected JSON.', 'invalid_body');
  let body: unknown;
  try {
    body = JSON.parse(text) as unknown;
  } catch {
    throw new WebhookError(400, 'The request body is not valid JSON.', 'invalid_json');
  }
  if (nestsDeeperThan(body, MAX_JSON_DEPTH)) {
    throw new WebhookError(400, `The request body nests objects and arrays more than ${MAX_JSON_DEPTH} levels deep.`, 'invalid_json');
  }
  return body;
}

export function isObject(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

export type FormParams = Record<string, string | string[]>;

/** Form-encoded body as Twilio's validator wants it: repeated names become arrays. */
export function parseForm(raw: Buffer): FormParams {
  const out: FormParams = {};
  for (const [k, v] of new URLSearchParams(raw.toString('utf8'))) {
    const prev = out[k];
    out[k] = prev === undefined ? v : Array.isArray(prev) ? [...prev, v] : [prev, v];
  }
  return out;
}

export const EMPTY_OK: HttpReply = { status: 200, body: '' };

export function jsonReply(status: number, body: unknown, headers?: Record<string, string>): HttpReply {
  return { status, contentType: 'application/json', body: JSON.stringify(body), headers };
}

export function stringField(v: unknown): string | undefined {
  return typeof v === 'string' ? v : typeof v === 'number' ? String(v) : undefined;
}
