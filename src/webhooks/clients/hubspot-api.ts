/** HubSpot CRM API: read a contact's properties, write properties back. */
import { sendOk, type OutboundContext } from './http';

export interface HubSpotApi {
  /** Without a trailing slash (the flow config trims it). */
  apiBaseUrl: string;
  accessToken: string;
}

export interface HubSpotContact {
  id: string;
  properties: Record<string, string | null>;
}

function headers(api: HubSpotApi): Record<string, string> {
  return { authorization: `Bearer ${api.accessToken}`, 'content-type': 'application/json', accept: 'application/json' };
}

function contactUrl(api: HubSpotApi, id: string): string {
  return `${api.apiBaseUrl}/crm/v3/objects/contacts/${encodeURIComponent(id)}`;
}

/** GET /crm/v3/objects/contacts/{id}?properties=... */
export async function getContact(api: HubSpotApi, id: string, properties: string[], ctx: OutboundContext): Promise<HubSpotContact> {
  const query = properties.length ? `?properties=${encodeURIComponent(properties.join(','))}` : '';
  const res = await sendOk({ service: 'HubSpot CRM API', method: 'GET', url: `${contactUrl(api, id)}${query}`, headers: headers(api) }, ctx);
  const body = res.json as { id?: unknown; properties?: Record<string, string | null> } | undefined;
  return { id: String(body?.id ?? id), properties: body?.properties ?? {} };
}

/** PATCH /crm/v3/objects/contacts/{id} with `{ properties }`: setting values is idempotent. */
export async function updateContact(api: HubSpotApi, id: string, properties: Record<string, string>, ctx: OutboundContext): Promise<void> {
  await sendOk(
    { service: 'HubSpot CRM API', method: 'PATCH', url: contactUrl(api, id), headers: headers(api), body: JSON.stringify({ properties }) },
    ctx,
  );
}
