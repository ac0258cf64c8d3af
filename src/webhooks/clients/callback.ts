/** Results POSTed to a callback URL, signed with Standard Webhooks headers. */
import { standardWebhookHeaders } from '../signatures';
import { sendOk, type OutboundContext } from './http';

export interface CallbackPost {
  url: string;
  /** Standard Webhooks secret (`whsec_...`). */
  secret: string;
  /** Stable per job, so the receiver can drop our retries (webhook-id). */
  messageId: string;
  payload: unknown;
}

export async function postCallback(post: CallbackPost, ctx: OutboundContext): Promise<number> {
  const body = JSON.stringify(post.payload);
  const res = await sendOk(
    {
      service: 'callback',
      method: 'POST',
      url: post.url,
      headers: { 'content-type': 'application/json', 'user-agent': 'switchyard-webhooks', ...standardWebhookHeaders(post.secret, post.messageId, ctx.now(), body) },
      body,
    },
    ctx,
  );
  return res.status;
}
