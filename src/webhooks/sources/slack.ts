/**
 * Slack Events API. Every request (url_verification included) is signed with the v0 scheme and
 * a timestamp window. `url_verification` is answered with its challenge; `event_callback`s of the
 * configured types (app_mention; message in direct messages) become jobs keyed on event_id, so
 * Slack's retries (X-Slack-Retry-Num) find the existing job. The request is acknowledged as soon
 * as the job is stored, well within Slack's 3 seconds. Events from bots, from the bot itself and
 * message subtypes (edits, deletions, joins) are ignored, so the bot never answers itself.
 * The answer is posted with chat.postMessage in the event's thread.
 *
 * Fields: message.{text,ts} (the bot's mention removed), user, channel, team_id, event.*.
 */
import { postSlackMessage } from '../clients/slack-api';
import type { FlowOf } from '../config';
import { checkSlackSignature } from '../signatures';
import { truncate } from '../text';
import { WebhookError } from '../types';
import { EMPTY_OK, header, isObject, jsonReply, parseJsonBody, stringField, unauthorized, type Intake, type Source } from './source';

/** Slack's limit on a message's text. */
const MAX_TEXT = 40_000;

function botUserIds(body: Record<string, unknown>, configured: string | undefined): Set<string> {
  const ids = new Set<string>(configured ? [configured] : []);
  if (Array.isArray(body.authorizations)) {
    for (const a of body.authorizations) if (isObject(a) && a.is_bot === true && typeof a.user_id === 'string') ids.add(a.user_id);
  }
  return ids;
}

function eventIntake(body: Record<string, unknown>, flow: FlowOf<'slack'>): Intake {
  const event = body.event;
  const eventId = stringField(body.event_id);
  if (!isObject(event) || !eventId) throw new WebhookError(400, 'An event_callback needs event and event_id.', 'invalid_body', 'event');
  const type = stringField(event.type);
  const user = stringField(event.user);
  const channel = stringField(event.channel);
  const ts = stringField(event.ts);
  const fromBot = event.bot_id !== undefined || event.subtype !== undefined || (user !== undefined && botUserIds(body, flow.slack.bot_user_id).has(user));
  const wanted =
    (type === 'app_mention' && flow.slack.events.includes('app_mention')) ||
    (type === 'message' && event.channel_type === 'im' && flow.slack.events.includes('message'));
  if (!wanted || fromBot || !user || !channel || !ts) return { kind: 'respond', reply: EMPTY_OK };
  const text = (stringField(event.text) ?? '').replace(/<@[A-Z0-9]+>\s*/g, '').trim();
  return {
    kind: 'enqueue',
    events: [
      {
        key: eventId,
        payload: {
          fields: { message: { text, ts }, user, channel, team_id: stringField(body.team_id) ?? '', event },
          target: { channel, thread_ts: stringField(event.thread_ts) ?? ts },
        },
      },
    ],
    ack: () => EMPTY_OK,
  };
}

export const slackSource: Source<'slack'> = {
  name: 'slack',

  verify(req, flow, nowMs) {
    const problem = checkSlackSignature({
      rawBody: req.rawBody,
      signature: header(req, 'x-slack-signature'),
      timestamp: header(req, 'x-slack-request-timestamp'),
      signingSecret: flow.slack.signing_secret,
      nowMs,
      maxAgeS: flow.slack.max_age_s,
    });
    if (problem) throw unauthorized(problem);
  },

  intake(req, flow) {
    const body = parseJsonBody(req);
    if (!isObject(body)) throw new WebhookError(400, 'The request body must be a JSON object.', 'invalid_body');
    if (body.type === 'url_verification') {
      const challenge = stringField(body.challenge);
      if (!challenge) throw new WebhookError(400, 'url_verification without a challenge.', 'invalid_body', 'challenge');
      return { kind: 'respond', reply: jsonReply(200, { challenge }) };
    }
    if (body.type === 'event_callback') return eventIntake(body, flow);
    return { kind: 'respond', reply: EMPTY_OK };
  },

  async answer(job, result, flow, ctx) {
    const target = job.payload.target as { channel: string; thread_ts?: string };
    const ts = await postSlackMessage(
      { apiBaseUrl: flow.slack.api_base_url, botToken: flow.slack.bot_token, channel: target.channel, threadTs: target.thread_ts, text: truncate(result.text, MAX_TEXT) },
      ctx,
    );
    return `slack message posted${ts ? ` (${ts})` : ''}`;
  },
};
