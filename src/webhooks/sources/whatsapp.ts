/**
 * WhatsApp Cloud API (Meta). GET: subscription handshake (hub.mode / hub.verify_token /
 * hub.challenge). POST: X-Hub-Signature-256 over the raw body; text messages become jobs keyed
 * on their message id (wamid); status callbacks, echoes of our own messages and other fields
 * are acknowledged and ignored. Answers go through Graph `/{phone-number-id}/messages`.
 * The signature has no timestamp, so a captured request can be replayed at any time: a message
 * whose own (signed) `timestamp` is older than webhooks.dedupe_days is ignored as stale, since by
 * then the queue may have forgotten its id (messages without a timestamp are handled as usual).
 *
 * Fields: message.{id,text,type,timestamp}, contact.{name,wa_id}, from, phone_number_id,
 * display_phone_number.
 */
import { sendWhatsAppText } from '../clients/graph';
import { checkMetaSignature, safeEqual } from '../signatures';
import { truncate } from '../text';
import { WebhookError, type AcceptedEvent } from '../types';
import { EMPTY_OK, header, isObject, parseJsonBody, stringField, unauthorized, type IntakeContext, type SkippedEvent, type Source } from './source';

/** WhatsApp's limit on a text message body. */
const MAX_TEXT = 4096;

interface Change {
  field?: unknown;
  value?: {
    metadata?: { phone_number_id?: unknown; display_phone_number?: unknown };
    contacts?: Array<{ wa_id?: unknown; profile?: { name?: unknown } }>;
    messages?: Array<Record<string, unknown>>;
  };
}

const DAY_MS = 86_400_000;

/** Why a message is too old to answer, if it is; a missing or unreadable timestamp is not stale. */
function staleness(timestamp: string | undefined, ctx: IntakeContext): string | undefined {
  if (timestamp === undefined || !/^\d{1,15}$/.test(timestamp)) return undefined;
  const ageMs = ctx.nowMs - Number(timestamp) * 1000;
  if (ageMs <= ctx.maxEventAgeMs) return undefined;
  return `stale message (sent ${Math.floor(ageMs / DAY_MS)} days ago, more than webhooks.dedupe_days): ignored as a possible replay`;
}

function eventsOf(body: Record<string, unknown>, onlyNumber: string | undefined, ctx: IntakeContext): { events: AcceptedEvent[]; skipped: SkippedEvent[] } {
  if (body.object !== 'whatsapp_business_account' || !Array.isArray(body.entry)) {
    throw new WebhookError(400, "Expected a WhatsApp Business Account notification (object 'whatsapp_business_account' with entry[]).", 'invalid_body', 'object');
  }
  const events: AcceptedEvent[] = [];
  const skipped: SkippedEvent[] = [];
  for (const [e, entry] of (body.entry as Array<{ changes?: unknown }>).entries()) {
    if (!isObject(entry) || !Array.isArray(entry.changes)) continue;
    for (const [c, change] of (entry.changes as Change[]).entries()) {
      // Echoes of messages we sent arrive under other fields (message_echoes, smb_message_echoes).
      if (change.field !== 'messages' || !isObject(change.value)) continue;
      const value = change.value;
      const phoneNumberId = stringField(value.metadata?.phone_number_id);
      const displayNumber = stringField(value.metadata?.display_phone_number);
      if (!phoneNumberId || (onlyNumber && phoneNumberId !== onlyNumber)) continue;
      for (const [m, msg] of (value.messages ?? []).entries()) {
        const id = stringField(msg.id);
        const from = stringField(msg.from);
        const text = isObject(msg.text) ? stringField(msg.text.body) : undefined;
        if (!id || !from || msg.type !== 'text' || text === undefined) continue;
        if (from === displayNumber) continue;
        const stale = staleness(stringField(msg.timestamp), ctx);
        if (stale) {
          skipped.push({ at: `entry[${e}].changes[${c}].messages[${m}]`, reason: stale });
          continue;
        }
        const contact = value.contacts?.find((k) => stringField(k.wa_id) === from) ?? value.contacts?.[0];
        events.push({
          key: id,
          payload: {
            fields: {
              message: { id, text, type: 'text', timestamp: stringField(msg.timestamp) },
              contact: { name: stringField(contact?.profile?.name) ?? '', wa_id: stringField(contact?.wa_id) ?? from },
              from,
              phone_number_id: phoneNumberId,
              display_phone_number: displayNumber,
            },
            target: { phone_number_id: phoneNumberId, to: from, message_id: id },
          },
        });
      }
    }
  }
  return { events, skipped };
}

export const whatsappSource: Source<'whatsapp'> = {
  name: 'whatsapp',

  handshake(req, flow) {
    const mode = req.query.get('hub.mode');
    const token = req.query.get('hub.verify_token') ?? '';
    const challenge = req.query.get('hub.challenge');
    if (mode === 'subscribe' && challenge && safeEqual(token, flow.whatsapp.verify_token)) {
      return { status: 200, contentType: 'text/plain', body: challenge };
    }
    return { status: 403, contentType: 'text/plain', body: 'verification failed' };
  },

  verify(req, flow) {
    const problem = checkMetaSignature(req.rawBody, header(req, 'x-hub-signature-256'), flow.whatsapp.app_secret);
    if (problem) throw unauthorized(problem);
  },

  intake(req, flow, _flowName, _verified, ctx) {
    const body = parseJsonBody(req);
    if (!isObject(body)) throw new WebhookError(400, 'The request body must be a JSON object.', 'invalid_body');
    const { events, skipped } = eventsOf(body, flow.whatsapp.phone_number_id, ctx);
    if (events.length === 0) return { kind: 'respond', reply: EMPTY_OK, skipped };
    return { kind: 'enqueue', events, ack: () => EMPTY_OK, skipped };
  },

  async answer(job, result, flow, ctx) {
    const target = job.payload.target as { phone_number_id: string; to: string; message_id?: string };
    const id = await sendWhatsAppText(
      {
        apiBaseUrl: flow.whatsapp.api_base_url,
        apiVersion: flow.whatsapp.api_version,
        accessToken: flow.whatsapp.access_token,
        phoneNumberId: target.phone_number_id,
        to: target.to,
        body: truncate(result.text, MAX_TEXT),
      },
      ctx,
    );
    return `whatsapp message sent${id ? ` (${id})` : ''}`;
  },
};
