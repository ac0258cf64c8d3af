/** Shapes shared by the sources, the queue, the runner and the HTTP layer. */
import type { IncomingHttpHeaders } from 'node:http';

/** What a job carries: the event's template fields and where its answer goes. No secrets. */
export interface JobPayload {
  /** The template context (`{{message.text}}`, `{{contact.properties.email}}`, `{{body.email}}`...). */
  fields: Record<string, unknown>;
  /** Where a `reply` goes (phone number, channel and thread, contact id...), source-specific. */
  target?: Record<string, unknown>;
  /** Generic flows: the caller's callback URL (the result is POSTed there, signed). */
  callbackUrl?: string;
}

/** A flow's answer, stored on its job before the action runs so a retry never asks the model again. */
export interface FlowResult {
  text: string;
  /** Parsed and schema-valid output of a JSON flow. */
  json?: unknown;
  model: string;
  provider: string;
  costUsd: number;
  /** True when the first answer was invalid JSON and the repair call fixed it. */
  repaired?: boolean;
}

/** A webhook request as the sources see it: raw bytes (signatures cover them) and the public URL. */
export interface InboundRequest {
  method: string;
  /** The URL the platform called (public base URL + path and query). */
  url: string;
  headers: IncomingHttpHeaders;
  rawBody: Buffer;
  query: URLSearchParams;
}

/** An HTTP answer to a webhook request. */
export interface HttpReply {
  status: number;
  contentType?: string;
  body?: string;
  headers?: Record<string, string>;
}

/** One event a request carried, ready to be enqueued. */
export interface AcceptedEvent {
  /** The platform's own id (message id, event id): the idempotency key within the flow. */
  key: string;
  payload: JobPayload;
  /**
   * Keys the caller chose (generic flows): the key may be reused only with the same body, so
   * the queue keeps the body's hash; `header` names where the key came from, for the 422.
   */
  idempotency?: { bodySha256: string; header: string };
}

/** The error a webhook request is refused with, and its HTTP status (401, 403, 400...). */
export class WebhookError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly code: string,
    readonly param: string | null = null,
  ) {
    super(message);
    this.name = 'WebhookError';
  }
}

/** A job step that failed; `retryable` decides between another attempt and the dead letters. */
export class JobError extends Error {
  readonly retryable: boolean;
  readonly retryAfterMs?: number;
  readonly status?: number;

  constructor(message: string, opts: { retryable: boolean; retryAfterMs?: number; status?: number; cause?: unknown }) {
    super(message, { cause: opts.cause });
    this.name = 'JobError';
    this.retryable = opts.retryable;
    this.retryAfterMs = opts.retryAfterMs;
    this.status = opts.status;
  }
}

/** What the webhook code logs with: structurally the server's Logger. */
export interface WebhookLogger {
  info(msg: string, fields?: Record<string, unknown>): void;
  warn(msg: string, fields?: Record<string, unknown>): void;
  error(msg: string, fields?: Record<string, unknown>): void;
}
