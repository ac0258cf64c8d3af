/**
 * HubSpot. POSTs signed with X-HubSpot-Signature-v3 (+ X-HubSpot-Request-Timestamp, 5-minute
 * window) over the URL HubSpot called. Two body shapes:
 * - webhook subscriptions: a JSON array of up to 100 events; those of `subscription_types`
 *   (default contact.creation) become jobs keyed on portal, type, object and event id; other
 *   types are ignored, and a handled event without its ids is skipped (logged), not a 400;
 * - workflow "Send a webhook" actions: one JSON object for the enrolled contact (objectId / vid /
 *   hs_object_id, with its properties). It carries no event id, so it is keyed on the contact and
 *   the SHA-256 of the body: HubSpot's retries resend the same body (one job), while a contact
 *   enrolled again later comes with other property values (a new job).
 * Before prompting, the worker reads the contact's properties from the CRM API; the answer (a
 * JSON flow's output) is written back with PATCH /crm/v3/objects/contacts/{id}.
 *
 * Fields: contact.{id, properties.*}, event.* (the subscription event, or {subscriptionType: "workflow"}).
 */
import { createHash } from 'node:crypto';
import { getContact, updateContact } from '../clients/hubspot-api';
import { checkHubSpotSignature } from '../signatures';
import { JobError, WebhookError, type AcceptedEvent } from '../types';
import { EMPTY_OK, header, isObject, parseJsonBody, stringField, unauthorized, type SkippedEvent, type Source } from './source';

/**
 * The batch's events of the flow's `subscription_types`, filtered by type first: HubSpot batches
 * every subscription of the app together, and other types have other fields (associationChange
 * carries fromObjectId/toObjectId, no objectId), so they are ignored, never checked.
 * An event of a handled type that lacks its ids is skipped (and logged by the router) rather
 * than failing the request: HubSpot retries whole batches, so a 400 would refuse the valid events
 * with it on every retry, and resending cannot mend the bad one.
 */
function subscriptionEvents(body: unknown[], types: string[]): { events: AcceptedEvent[]; skipped: SkippedEvent[] } {
  const events: AcceptedEvent[] = [];
  const skipped: SkippedEvent[] = [];
  body.forEach((e, i) => {
    const type = isObject(e) ? stringField(e.subscriptionType) : undefined;
    if (!isObject(e) || !type) return void skipped.push({ at: `[${i}]`, reason: 'not an event object with a subscriptionType' });
    if (!types.includes(type)) return;
    const objectId = stringField(e.objectId);
    const eventId = stringField(e.eventId);
    if (!objectId || !eventId) {
      const missing = [objectId ? undefined : 'objectId', eventId ? undefined : 'eventId'].filter(Boolean).join(' and ');
      return void skipped.push({ at: `[${i}]`, reason: `${type} event lacks ${missing}` });
    }
    const portal = stringField(e.portalId) ?? '';
    events.push({
      // HubSpot says eventId alone is not guaranteed unique; with portal, type and object it is.
      key: `${portal}:${type}:${objectId}:${eventId}`,
      payload: { fields: { contact: { id: objectId, properties: {} }, event: e }, target: { contact_id: objectId, portal_id: portal } },
    });
  });
  return { events, skipped };
}

/** Workflow payloads: `properties` as {name: {value}} (legacy) or {name: value}, or flat properties. */
function workflowProperties(body: Record<string, unknown>): Record<string, string> {
  const source = isObject(body.properties) ? body.properties : body;
  const out: Record<string, string> = {};
  for (const [name, raw] of Object.entries(source)) {
    const value = isObject(raw) ? stringField(raw.value) : stringField(raw);
    if (value !== undefined) out[name] = value;
  }
  return out;
}

function workflowEvent(body: Record<string, unknown>, rawBody: Buffer): AcceptedEvent {
  const props = workflowProperties(body);
  const id = stringField(body.objectId) ?? stringField(body.vid) ?? stringField(body.hs_object_id) ?? props.hs_object_id ?? stringField(body.id);
  if (!id) throw new WebhookError(400, 'The workflow payload has no contact id (objectId, vid or hs_object_id).', 'invalid_body', 'objectId');
  const portal = stringField(body.portalId) ?? stringField(body['portal-id']) ?? '';
  return {
    // Not an idempotency binding (a new body is a new enrollment, not a reused key): part of the key.
    key: `${portal}:workflow:${id}:${createHash('sha256').update(rawBody).digest('hex')}`,
    payload: { fields: { contact: { id, properties: props }, event: { subscriptionType: 'workflow' } }, target: { contact_id: id, portal_id: portal } },
  };
}

function toPropertyValue(v: unknown): string {
  if (typeof v === 'string') return v;
  if (v === null || v === undefined) return '';
  if (Array.isArray(v) && v.every((x) => typeof x === 'string')) return v.join(';');
  return typeof v === 'object' ? JSON.stringify(v) : String(v);
}

/** Output fields -> HubSpot properties, through the action's mapping when there is one. */
export function contactProperties(output: unknown, mapping: Record<string, string> | undefined): Record<string, string> {
  if (!isObject(output)) throw new JobError('the flow output is not a JSON object, nothing to write to the contact', { retryable: false });
  const entries = mapping ? Object.entries(mapping).filter(([field]) => Object.hasOwn(output, field)) : Object.keys(output).map((f) => [f, f] as const);
  return Object.fromEntries(entries.map(([field, property]) => [property, toPropertyValue(output[field])]));
}

export const hubspotSource: Source<'hubspot'> = {
  name: 'hubspot',

  verify(req, flow, nowMs) {
    const problem = checkHubSpotSignature({
      method: req.method,
      url: flow.hubspot.public_url ?? req.url,
      rawBody: req.rawBody,
      signature: header(req, 'x-hubspot-signature-v3'),
      timestamp: header(req, 'x-hubspot-request-timestamp'),
      clientSecret: flow.hubspot.client_secret,
      nowMs,
      maxAgeMs: flow.hubspot.max_age_ms,
    });
    if (problem) throw unauthorized(problem);
  },

  intake(req, flow) {
    const body = parseJsonBody(req);
    let batch: { events: AcceptedEvent[]; skipped?: SkippedEvent[] };
    if (Array.isArray(body)) batch = subscriptionEvents(body, flow.hubspot.subscription_types);
    else if (isObject(body)) batch = { events: [workflowEvent(body, req.rawBody)] };
    else throw new WebhookError(400, 'Expected a JSON array of events or a workflow payload object.', 'invalid_body');
    const { events, skipped } = batch;
    if (events.length === 0) return { kind: 'respond', reply: EMPTY_OK, skipped };
    return { kind: 'enqueue', events, ack: () => EMPTY_OK, skipped };
  },

  async load(payload, flow, ctx) {
    const contact = payload.fields.contact as { id: string; properties?: Record<string, string> };
    const fetched = await getContact({ apiBaseUrl: flow.hubspot.api_base_url, accessToken: flow.hubspot.access_token }, contact.id, flow.hubspot.properties, ctx);
    const properties = { ...contact.properties, ...Object.fromEntries(Object.entries(fetched.properties).filter(([, v]) => v !== null)) };
    return { ...payload.fields, contact: { id: contact.id, properties } };
  },

  async answer(job, result, flow, ctx) {
    const target = job.payload.target as { contact_id: string };
    const mapping = flow.action.type === 'update_contact' ? flow.action.properties : undefined;
    const properties = contactProperties(result.json, mapping);
    if (Object.keys(properties).length === 0) throw new JobError('no output field maps to a contact property', { retryable: false });
    await updateContact({ apiBaseUrl: flow.hubspot.api_base_url, accessToken: flow.hubspot.access_token }, target.contact_id, properties, ctx);
    return `hubspot contact ${target.contact_id} updated (${Object.keys(properties).join(', ')})`;
  },
};
