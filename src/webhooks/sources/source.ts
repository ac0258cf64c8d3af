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
  intake(req: InboundRequest, flow: FlowOf<S>, flowName: string, verified: Verified, ctx: IntakeContext): Intake;
  /** Fields only available at processing time (HubSpot: the contact's properties). */
  load?(payload: JobPayload, flow: FlowOf<S>, ctx: OutboundContext): Promise<Record<string, unknown>>;
  /** Sends the result back to the origin; returns what was done, for the job's record. */
  answer?(job: Job, result: FlowResult, flow: FlowOf<S>, ctx: OutboundContext): Promise<string>;
}

/** What intake may need besides the request. */
export interface IntakeContext {
  nowMs: number;
  /**
   * Events the platform dates (in the signed body) further back than this are stale: ignored, as
   * their dedupe keys may be forgotten by now (webhooks.dedupe_days).
   */
  maxEventAgeMs: number;
}

/** The outcome of reading a verified request. */
export type Intake = (
  /** Nothing to enqueue (handshake, status callback, the bot's own message): answer at once. */
  | { kind: 'respond'; reply: HttpReply }
  /** Events to enqueue; `ack` answers once they are durable (unless `wait` answers with the result). */
  | { kind: 'enqueue'; events: AcceptedEvent[]; ack: (enqueued: Enqueued[]) => HttpReply; wait?: SyncWait }
) & {
  /** Events of a batch left out because they were unusable; the router logs each one. */
  skipped?: SkippedEvent[];
};

/** An event a batch carried that was not enqueued, and why (no secrets, no personal data). */
export interface SkippedEvent {
  /** Where it was in the body, e.g. "[3]". */
  at: string;
  reason: string;
}

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

const STRICT_UTF8 = new TextDecoder('utf-8', { fatal: true });

function isUtf8(bytes: Uint8Array): boolean {
  try {
    STRICT_UTF8.decode(bytes);
    return true;
  } catch {
    return false;
  }
}

/** The bytes a form body stands for once its %XX escapes are decoded. */
function percentDecoded(raw: Buffer): Buffer {
  const out = Buffer.alloc(raw.length);
  let n = 0;
  for (let i = 0; i < raw.length; i++) {
    const hex = raw[i] === 0x25 ? raw.subarray(i + 1, i + 3).toString('latin1') : '';
    if (/^[0-9a-f]{2}$/i.test(hex)) {
      out[n++] = parseInt(hex, 16);
      i += 2;
    } else out[n++] = raw[i]!;
  }
  return out.subarray(0, n);
}

/**
 * Form-encoded body as Twilio's validator wants it: repeated names become arrays. Twilio signs
 * the decoded parameters, not the bytes, so a body that is not UTF-8 (as sent, or once its %XX
 * escapes are decoded) is refused: decoding it would turn different bytes into the same U+FFFD
 * parameters, which one signature would then cover.
 */
export function parseForm(raw: Buffer): FormParams {
  if (!isUtf8(raw) || !isUtf8(percentDecoded(raw))) {
    throw new WebhookError(400, 'The form body is not valid UTF-8 (as sent or once percent-decoded).', 'invalid_body');
  }
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
