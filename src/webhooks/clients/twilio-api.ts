/** Twilio Messages API: send an SMS or WhatsApp message (when the TwiML reply came too late). */
import { send, statusError, type OutboundContext, type OutboundRequest } from './http';

export interface TwilioMessage {
  apiBaseUrl: string;
  accountSid: string;
  authToken: string;
  from: string;
  to: string;
  body: string;
}

/** Sends the message; returns its sid. */
export async function sendTwilioMessage(msg: TwilioMessage, ctx: OutboundContext): Promise<string> {
  const base = msg.apiBaseUrl.replace(/\/+$/, '');
  const auth = Buffer.from(`${msg.accountSid}:${msg.authToken}`).toString('base64');
  const req: OutboundRequest = {
    service: 'Twilio Messages API',
    method: 'POST',
    url: `${base}/2010-04-01/Accounts/${encodeURIComponent(msg.accountSid)}/Messages.json`,
    headers: {
      authorization: `Basic ${auth}`,
      'content-type': 'application/x-www-form-urlencoded',
    },
    body: new URLSearchParams({ From: msg.from, To: msg.to, Body: msg.body }).toString(),
  };
  const res = await send(req, ctx);
  const body = res.json as { sid?: string; message?: string; code?: number } | undefined;
  if (res.status >= 200 && res.status < 300) return body?.sid ?? '';
  throw statusError(req, res, ctx.now(), body?.message ? `${body.message} (code ${body.code ?? '?'})` : undefined);
}
