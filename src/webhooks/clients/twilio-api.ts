/** Twilio Messages API: send an SMS or WhatsApp message (when the TwiML reply came too late). */
import { sendOk, type OutboundContext, type OutboundRequest, type OutboundResponse } from './http';

export interface TwilioMessage {
  /** Without a trailing slash (the flow config trims it). */
  apiBaseUrl: string;
  accountSid: string;
  authToken: string;
  from: string;
  to: string;
  body: string;
}

/** Twilio's error body: `{code, message, more_info, status}`. */
function twilioErrorDetail(res: OutboundResponse): string | undefined {
  const body = res.json as { message?: string; code?: number } | undefined;
  return body?.message ? `${body.message} (code ${body.code ?? '?'})` : undefined;
}

/** Sends the message; returns its sid. */
export async function sendTwilioMessage(msg: TwilioMessage, ctx: OutboundContext): Promise<string> {
  const auth = Buffer.from(`${msg.accountSid}:${msg.authToken}`).toString('base64');
  const req: OutboundRequest = {
    service: 'Twilio Messages API',
    method: 'POST',
    url: `${msg.apiBaseUrl}/2010-04-01/Accounts/${encodeURIComponent(msg.accountSid)}/Messages.json`,
    headers: {
      authorization: `Basic ${auth}`,
      'content-type': 'application/x-www-form-urlencoded',
    },
    body: new URLSearchParams({ From: msg.from, To: msg.to, Body: msg.body }).toString(),
  };
  const res = await sendOk(req, ctx, twilioErrorDetail);
  return (res.json as { sid?: string } | undefined)?.sid ?? '';
}
