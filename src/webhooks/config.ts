/**
 * Flow configuration: the `flows` and `webhooks` sections of the server configuration.
 *
 * A flow is a named piece of config: where events come from (`source` and its secrets), a prompt
 * template over the event's fields, routing hints, the output (text, or JSON matching a schema)
 * and what to do with the result (`action`). Secrets are read from the file, where `${ENV}`
 * references are resolved; they never come from a request.
 */
import { z } from 'zod';
import { RoutingOptionsSchema } from '../core/routing/types';
import { jsonSchemaProblem } from '../core/tasks/json';
import { configuredHost } from './hosts';
import { assertStandardWebhookSecret } from './signatures';
import { templateProblems } from './template';

const Secret = z.string().min(1, 'must not be empty');
const NAME_RE = /^[a-z0-9][a-z0-9_-]*$/;
const SCHEMA_NAME_RE = /^[a-zA-Z0-9_-]{1,64}$/;
const BODY_LIMIT_RE = /^\d+(?:\.\d+)?\s*(?:b|kb|mb)$/i;

/** A platform API's base URL; trailing slashes are dropped here, once, as clients append `/path`. */
function apiBaseUrl(fallback: string) {
  return z
    .url()
    .transform((url) => url.replace(/\/+$/, ''))
    .default(fallback);
}

export const TextOutputSchema = z.strictObject({
  type: z.literal('text'),
  /** Answers longer than this are cut at a word boundary (SMS and chat apps have limits). */
  max_chars: z.number().int().positive().optional(),
});

export const JsonOutputSchema = z.strictObject({
  type: z.literal('json'),
  /** Name given to the schema in `response_format.json_schema.name`. */
  name: z.string().regex(SCHEMA_NAME_RE, 'must be 1-64 letters, digits, _ or -').default('result'),
  /** A JSON schema (draft-07); sent as response_format and checked with ajv on the answer. */
  schema: z.record(z.string(), z.unknown()),
  /** One more call that shows the model its invalid answer and the errors (default on). */
  repair: z.boolean().default(true),
});

export const OutputSchema = z.discriminatedUnion('type', [TextOutputSchema, JsonOutputSchema]);

export const ReplyActionSchema = z.strictObject({ type: z.literal('reply') });
export const UpdateContactActionSchema = z.strictObject({
  type: z.literal('update_contact'),
  /** Output field -> HubSpot property name; by default each output field is written to the property of the same name. */
  properties: z.record(z.string(), z.string().min(1)).optional(),
});
export const CallbackActionSchema = z.strictObject({
  type: z.literal('callback'),
  url: z.url({ protocol: /^https?$/ }),
  /** Standard Webhooks signing secret (`whsec_` + base64). */
  secret: Secret,
});
/** A callback host, kept in the canonical form callback URLs are compared in (lowercase, `[::1]`, no trailing dot). */
const CallbackHostSchema = z.string().transform((raw, ctx) => {
  const host = configuredHost(raw);
  if (host === undefined) ctx.addIssue({ code: 'custom', message: `'${raw}' is not a host name or IP address (no scheme, port or path)` });
  return host ?? raw;
});

export const RespondActionSchema = z.strictObject({
  type: z.literal('respond'),
  /** Signs results POSTed to a caller's `callback_url` (Standard Webhooks, `whsec_...`). Without it, callback_url is refused. */
  callback_secret: Secret.optional(),
  /** Hosts a callback_url may point to (names match case-insensitively); any host with public addresses when absent. */
  callback_hosts: z.array(CallbackHostSchema).optional(),
  /**
   * Lets callbacks to the callback_hosts reach loopback, private and other non-public addresses
   * (local development, receivers inside the network). Needs callback_hosts.
   */
  callback_allow_private: z.boolean().optional(),
});
export const ActionSchema = z.discriminatedUnion('type', [ReplyActionSchema, UpdateContactActionSchema, CallbackActionSchema, RespondActionSchema]);

export const WhatsAppSourceSchema = z.strictObject({
  /** Meta app secret: key of X-Hub-Signature-256. */
  app_secret: Secret,
  /** Answer to the GET subscription handshake (hub.verify_token). */
  verify_token: Secret,
  /** System-user or app access token for the Graph API. */
  access_token: Secret,
  /** Only messages to this business number are handled (default: any number of the app). */
  phone_number_id: z.string().min(1).optional(),
  api_version: z.string().regex(/^v\d+\.\d+$/, 'e.g. "v23.0"').default('v23.0'),
  api_base_url: apiBaseUrl('https://graph.facebook.com'),
});

export const TwilioSourceSchema = z.strictObject({
  /** Key of X-Twilio-Signature and of the Messages API. */
  auth_token: Secret,
  account_sid: z.string().regex(/^AC[0-9a-fA-F]{32}$/, 'an Account SID (AC + 32 hex digits)'),
  /** The exact URL configured in Twilio, when it differs from webhooks.public_base_url + path. */
  public_url: z.url().optional(),
  /** How long the webhook waits for the answer to send it as TwiML; later answers go through the Messages API. Twilio gives up at 15 s. */
  reply_wait_ms: z.number().int().min(0).max(14_000).default(10_000),
  api_base_url: apiBaseUrl('https://api.twilio.com'),
});

export const HubSpotSourceSchema = z.strictObject({
  /** App client secret: key of X-HubSpot-Signature-v3. */
  client_secret: Secret,
  /** Private app or OAuth access token for the CRM API. */
  access_token: Secret,
  /** The exact URL configured in HubSpot, when it differs from webhooks.public_base_url + path. */
  public_url: z.url().optional(),
  subscription_types: z.array(z.string().min(1)).default(['contact.creation']),
  /** Contact properties read from the CRM before prompting (`{{contact.properties.NAME}}`). */
  properties: z.array(z.string().min(1)).default(['email', 'firstname', 'lastname', 'company', 'jobtitle', 'website', 'city', 'country']),
  max_age_ms: z.number().int().positive().default(300_000),
  api_base_url: apiBaseUrl('https://api.hubapi.com'),
});

export const SlackSourceSchema = z.strictObject({
  signing_secret: Secret,
  /** Bot token (`xoxb-...`) for chat.postMessage. */
  bot_token: Secret,
  /** The bot's user id; events from it are ignored (also learnt from each event's authorizations). */
  bot_user_id: z.string().min(1).optional(),
  /** Event types answered: `app_mention` and/or `message` (direct messages). */
  events: z.array(z.enum(['app_mention', 'message'])).min(1).default(['app_mention', 'message']),
  max_age_s: z.number().int().positive().default(300),
  api_base_url: apiBaseUrl('https://slack.com/api'),
});

export const GenericSourceSchema = z
  .strictObject({
    /** Standard Webhooks secret (`whsec_` + base64): requests carry webhook-id/-timestamp/-signature. */
    signing_secret: Secret.optional(),
    /** Alternative: `Authorization: Bearer <token>`. */
    bearer_token: z.string().min(16, 'must be at least 16 characters').optional(),
    /** How long a synchronous request waits for the result before answering 202 with the job id. */
    sync_timeout_ms: z.number().int().positive().max(120_000).default(25_000),
    max_age_s: z.number().int().positive().default(300),
  })
  .refine((g) => g.signing_secret !== undefined || g.bearer_token !== undefined, 'set signing_secret or bearer_token');

const FlowBaseSchema = z.strictObject({
  description: z.string().optional(),
  enabled: z.boolean().default(true),
  /** System message template. */
  system: z.string().optional(),
  /** User message template: `{{field.path}}` placeholders over the event's fields. */
  prompt: z.string().min(1),
  model: z.string().min(1).default('auto'),
  models: z.array(z.string().min(1)).min(1).optional(),
  routing: RoutingOptionsSchema.optional(),
  temperature: z.number().min(0).max(2).optional(),
  max_tokens: z.number().int().positive().optional(),
  output: OutputSchema.prefault({ type: 'text' }),
  action: ActionSchema,
  /** Overrides webhooks.max_attempts for this flow's jobs. */
  max_attempts: z.number().int().positive().max(100).optional(),
});

function isStandardWebhookSecret(secret: string): boolean {
  try {
    assertStandardWebhookSecret(secret);
    return true;
  } catch {
    return false;
  }
}

const ALLOWED_ACTIONS: Record<string, ReadonlyArray<string>> = {
  whatsapp: ['reply', 'callback'],
  twilio: ['reply', 'callback'],
  slack: ['reply', 'callback'],
  hubspot: ['update_contact', 'callback'],
  generic: ['respond', 'callback'],
};

export const FlowSchema = z
  .discriminatedUnion('source', [
    FlowBaseSchema.extend({ source: z.literal('whatsapp'), whatsapp: WhatsAppSourceSchema }),
    FlowBaseSchema.extend({ source: z.literal('twilio'), twilio: TwilioSourceSchema }),
    FlowBaseSchema.extend({ source: z.literal('hubspot'), hubspot: HubSpotSourceSchema }),
    FlowBaseSchema.extend({ source: z.literal('slack'), slack: SlackSourceSchema }),
    FlowBaseSchema.extend({ source: z.literal('generic'), generic: GenericSourceSchema }),
  ])
  .superRefine((flow, ctx) => {
    for (const key of ['system', 'prompt'] as const) {
      const text = flow[key];
      if (text === undefined) continue;
      for (const message of templateProblems(text)) ctx.addIssue({ code: 'custom', path: [key], message });
    }
    if (flow.output.type === 'json') {
      const problem = jsonSchemaProblem(flow.output.schema);
      if (problem) ctx.addIssue({ code: 'custom', path: ['output', 'schema'], message: `invalid JSON schema: ${problem}` });
    }
    const allowed = ALLOWED_ACTIONS[flow.source] ?? [];
    if (!allowed.includes(flow.action.type)) {
      ctx.addIssue({ code: 'custom', path: ['action', 'type'], message: `a ${flow.source} flow can use ${allowed.map((a) => `'${a}'`).join(' or ')}` });
    }
    const whsec: Array<[PropertyKey[], string | undefined]> = [
      [['action', 'secret'], flow.action.type === 'callback' ? flow.action.secret : undefined],
      [['action', 'callback_secret'], flow.action.type === 'respond' ? flow.action.callback_secret : undefined],
      [['generic', 'signing_secret'], flow.source === 'generic' ? flow.generic.signing_secret : undefined],
    ];
    for (const [path, secret] of whsec) {
      if (secret !== undefined && !isStandardWebhookSecret(secret)) ctx.addIssue({ code: 'custom', path, message: 'must be a Standard Webhooks secret: whsec_ followed by base64' });
    }
    if (flow.action.type === 'respond' && flow.action.callback_allow_private && !flow.action.callback_hosts) {
      ctx.addIssue({ code: 'custom', path: ['action', 'callback_allow_private'], message: 'needs callback_hosts: only hosts listed there may have non-public addresses' });
    }
    if (flow.action.type === 'update_contact' && flow.output.type !== 'json') {
      ctx.addIssue({ code: 'custom', path: ['output', 'type'], message: "update_contact writes JSON fields: set output.type to 'json'" });
    }
  });

export const FlowsSchema = z.record(z.string().regex(NAME_RE, 'flow names: lowercase letters, digits, - or _'), FlowSchema).default({});

export const WebhooksSectionSchema = z.strictObject({
  /** SQLite file of the job queue (SWITCHYARD_QUEUE overrides; default ./switchyard-jobs.sqlite). */
  queue_path: z.string().min(1).optional(),
  /** Jobs processed at once. */
  workers: z.number().int().positive().max(64).default(4),
  /** Tries per job before it goes to the dead letters. */
  max_attempts: z.number().int().positive().max(100).default(6),
  backoff_base_ms: z.number().int().positive().default(2_000),
  backoff_max_ms: z.number().int().positive().default(600_000),
  /** A job whose worker stopped renewing its lease this long ago is taken over (crash recovery). */
  lease_ms: z.number().int().min(1_000).default(60_000),
  /** How often idle workers look for due jobs (new events wake them at once). */
  poll_ms: z.number().int().positive().default(1_000),
  /** Largest accepted webhook body. */
  body_limit: z.union([z.string().regex(BODY_LIMIT_RE, 'a size such as "256kb" or "1mb"'), z.number().int().positive()]).default('1mb'),
  /** The URL the platforms call, e.g. "https://gw.example.com" behind a proxy: signatures cover it. */
  public_base_url: z.url().optional(),
  /** Finished jobs are deleted after this many days (dead letters are kept). */
  retention_days: z.number().positive().default(14),
  /**
   * How long a pruned job's dedupe key (a hash of it) is still remembered, counted from when the
   * event arrived: deliveries replayed within it are duplicates, and WhatsApp messages sent longer
   * ago are ignored as stale. At least retention_days and at least 7 (Meta retries for up to 7 days).
   */
  dedupe_days: z.number().min(7, 'must be at least 7 (Meta retries WhatsApp deliveries for up to 7 days)').default(400),
  /** Timeout of each call to a platform API (Graph, Twilio, HubSpot, Slack, callbacks). */
  outbound_timeout_ms: z.number().int().positive().default(15_000),
}).superRefine((s, ctx) => {
  if (s.dedupe_days < s.retention_days) {
    ctx.addIssue({ code: 'custom', path: ['dedupe_days'], message: `must be at least retention_days (${s.retention_days}): keys are remembered after their jobs are deleted` });
  }
});

export type SourceName = Flow['source'];
export type Flow = z.infer<typeof FlowSchema>;
export type FlowOf<S extends SourceName> = Extract<Flow, { source: S }>;
export type Flows = z.infer<typeof FlowsSchema>;
export type Output = z.infer<typeof OutputSchema>;
export type JsonOutput = z.infer<typeof JsonOutputSchema>;
export type Action = z.infer<typeof ActionSchema>;
export type RespondAction = z.infer<typeof RespondActionSchema>;
export type WebhooksSection = z.infer<typeof WebhooksSectionSchema>;
export type WebhooksSectionInput = z.input<typeof WebhooksSectionSchema>;
export type FlowInput = z.input<typeof FlowSchema>;

export const DEFAULT_QUEUE_PATH = './switchyard-jobs.sqlite';

/** --queue flag > SWITCHYARD_QUEUE > webhooks.queue_path > ./switchyard-jobs.sqlite. */
export function resolveQueuePath(flag?: string, configured?: string, env: Record<string, string | undefined> = process.env): string {
  return flag || env.SWITCHYARD_QUEUE || configured || DEFAULT_QUEUE_PATH;
}

/** Every secret value in the flows, so logs can mask them even inside upstream error text. */
export function secretsOf(flows: Flows): string[] {
  const out = new Set<string>();
  const add = (v: string | undefined) => {
    if (v && v.length >= 4) out.add(v);
  };
  for (const flow of Object.values(flows)) {
    if (flow.action.type === 'callback') add(flow.action.secret);
    if (flow.action.type === 'respond') add(flow.action.callback_secret);
    switch (flow.source) {
      case 'whatsapp':
        [flow.whatsapp.app_secret, flow.whatsapp.verify_token, flow.whatsapp.access_token].forEach(add);
        break;
      case 'twilio':
        add(flow.twilio.auth_token);
        break;
      case 'hubspot':
        [flow.hubspot.client_secret, flow.hubspot.access_token].forEach(add);
        break;
      case 'slack':
        [flow.slack.signing_secret, flow.slack.bot_token].forEach(add);
        break;
      case 'generic':
        [flow.generic.signing_secret, flow.generic.bearer_token].forEach(add);
        break;
    }
  }
  return [...out];
}
