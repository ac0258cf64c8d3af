/** WhatsApp Cloud API (Meta Graph): send a text message from a business phone number. */
import { JobError } from '../types';
import { send, statusError, type OutboundContext, type OutboundRequest } from './http';

export interface WhatsAppText {
  /** Without a trailing slash (the flow config trims it). */
  apiBaseUrl: string;
  apiVersion: string;
  accessToken: string;
  phoneNumberId: string;
  to: string;
  body: string;
  /** Quote the user's message (context.message_id). */
  replyTo?: string;
}

/** Graph error codes that mean "slow down" or "try later" even on a 400. */
const RETRYABLE_CODES = new Set([1, 2, 4, 17, 32, 613, 80007, 130429, 131000, 131016, 131048, 131056]);

/** Sends the message; returns the message id Graph assigned. */
export async function sendWhatsAppText(msg: WhatsAppText, ctx: OutboundContext): Promise<string> {
  const req: OutboundRequest = {
    service: 'WhatsApp Graph API',
    method: 'POST',
    url: `${msg.apiBaseUrl}/${msg.apiVersion}/${encodeURIComponent(msg.phoneNumberId)}/messages`,
    headers: { authorization: `Bearer ${msg.accessToken}`, 'content-type': 'application/json' },
    body: JSON.stringify({
      messaging_product: 'whatsapp',
      recipient_type: 'individual',
      to: msg.to,
      type: 'text',
      text: { preview_url: false, body: msg.body },
      ...(msg.replyTo ? { context: { message_id: msg.replyTo } } : {}),
    }),
  };
  const res = await send(req, ctx);
  const body = res.json as { messages?: Array<{ id?: string }>; error?: { message?: string; code?: number } } | undefined;
  if (res.status >= 200 && res.status < 300) return body?.messages?.[0]?.id ?? '';
  const err = statusError(req, res, ctx.now(), body?.error?.message ? `${body.error.message} (code ${body.error.code ?? '?'})` : undefined);
  if (!err.retryable && body?.error?.code !== undefined && RETRYABLE_CODES.has(body.error.code)) {
    throw new JobError(err.message, { retryable: true, status: res.status, retryAfterMs: err.retryAfterMs });
  }
  throw err;
}
