/**
 * Twilio SMS / WhatsApp. Form-encoded POSTs signed with X-Twilio-Signature over the URL Twilio
 * called (the flow's `public_url`, else webhooks.public_base_url + path) and the parameters,
 * checked with the `twilio` package. Incoming messages become jobs keyed on MessageSid; status
 * callbacks are acknowledged and ignored. The answer goes back as TwiML when it is ready within
 * `reply_wait_ms`; otherwise the webhook answers an empty <Response/> and the worker sends the
 * answer through the Messages API.
 *
 * Fields: message.{id,text}, from, to, profile_name, channel ("sms" | "whatsapp"), params.*.
 */
import { sendTwilioMessage } from '../clients/twilio-api';
import { checkTwilioSignature } from '../signatures';
import { truncate } from '../text';
import type { HttpReply } from '../types';
import { header, parseForm, unauthorized, type FormParams, type Source } from './source';

/** Twilio's limit on a message body. */
const MAX_BODY = 1600;

export function twiml(text?: string): HttpReply {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const MessagingResponse = require('twilio/lib/twiml/MessagingResponse') as typeof import('twilio/lib/twiml/MessagingResponse');
  const response = new MessagingResponse();
  if (text) response.message(truncate(text, MAX_BODY));
  return { status: 200, contentType: 'text/xml', body: response.toString() };
}

function first(v: string | string[] | undefined): string | undefined {
  return Array.isArray(v) ? v[0] : v;
}

export const twilioSource: Source<'twilio', FormParams> = {
  name: 'twilio',

  /** Returns the form it checked the signature over: intake reads these very parameters. */
  verify(req, flow) {
    const url = flow.twilio.public_url ?? req.url;
    const params = parseForm(req.rawBody);
    const problem = checkTwilioSignature(flow.twilio.auth_token, header(req, 'x-twilio-signature'), url, params);
    if (problem) throw unauthorized(problem);
    return params;
  },

  intake(_req, flow, _flowName, params) {
    const sid = first(params.MessageSid) ?? first(params.SmsMessageSid);
    const from = first(params.From);
    const to = first(params.To);
    const body = first(params.Body) ?? '';
    // Status callbacks carry MessageStatus; inbound messages have SmsStatus "received".
    const inbound = params.MessageStatus === undefined && (params.SmsStatus === undefined || first(params.SmsStatus) === 'received');
    if (!sid || !from || !to || !inbound || body.trim() === '') return { kind: 'respond', reply: twiml() };
    const waits = flow.action.type === 'reply' && flow.twilio.reply_wait_ms > 0;
    return {
      kind: 'enqueue',
      events: [
        {
          key: sid,
          payload: {
            fields: {
              message: { id: sid, text: body },
              from,
              to,
              profile_name: first(params.ProfileName) ?? '',
              channel: from.startsWith('whatsapp:') ? 'whatsapp' : 'sms',
              params,
            },
            target: { from: to, to: from },
          },
        },
      ],
      ack: () => twiml(),
      wait: waits ? { ms: flow.twilio.reply_wait_ms, respond: (_job, result) => twiml(result?.text), onDuplicate: 'ack' } : undefined,
    };
  },

  async answer(job, result, flow, ctx) {
    const target = job.payload.target as { from: string; to: string };
    const sid = await sendTwilioMessage(
      {
        apiBaseUrl: flow.twilio.api_base_url,
        accountSid: flow.twilio.account_sid,
        authToken: flow.twilio.auth_token,
        from: target.from,
        to: target.to,
        body: truncate(result.text, MAX_BODY),
      },
      ctx,
    );
    return `twilio message sent${sid ? ` (${sid})` : ''}`;
  },
};
