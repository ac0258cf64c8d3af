/**
 * Parses the usage query (`group_by`, `from`, `to`, `key_id`) shared by GET /v1/usage and
 * `switchyard usage`. Exports: `UsageQueryParamsSchema`, `UsageQueryParams`, `parseUsageQuery`.
 * `from`/`to` take epoch milliseconds, an ISO date (UTC; a date-only `to` includes that day) or an
 * ISO date-time with a zone.
 */
import { z } from 'zod';
import { GatewayError, issueParam } from '../core/errors';
import { GroupBySchema, type AggregateQuery } from './store/usage';
import { parseTimeParam } from './store/time';

const TIME_HINT = 'must be epoch milliseconds, an ISO date (2026-11-22) or an ISO date-time with a zone (2026-11-22T10:00:00Z)';

/** Repeated query parameters arrive as arrays. */
const once = (name: string) => (issue: { code: string }) =>
  issue.code === 'invalid_type' ? `give ${name} once, as a single value` : undefined;

const timeParam = (bound: 'from' | 'to') =>
  z.string({ error: once(bound) }).transform((text, ctx) => {
    const ms = parseTimeParam(text, bound);
    if (ms === undefined) {
      ctx.addIssue({ code: 'custom', message: TIME_HINT });
      return z.NEVER;
    }
    return ms;
  });

export const UsageQueryParamsSchema = z
  .strictObject({
    group_by: z.string({ error: once('group_by') }).pipe(GroupBySchema).default('model'),
    from: timeParam('from').optional(),
    to: timeParam('to').optional(),
    key_id: z.string({ error: once('key_id') }).min(1, 'must not be empty').optional(),
  })
  .refine((q) => q.from === undefined || q.to === undefined || q.from < q.to, {
    message: 'must be later than from',
    path: ['to'],
  });
export type UsageQueryParams = z.infer<typeof UsageQueryParamsSchema>;

/** Validates raw query parameters; throws a 400 GatewayError naming the offending parameter. */
export function parseUsageQuery(raw: unknown): AggregateQuery {
  const result = UsageQueryParamsSchema.safeParse(raw);
  if (result.success) return result.data;
  const issue = result.error.issues[0]!;
  const param = issueParam(issue);
  const message =
    issue.code === 'unrecognized_keys'
      ? `Unknown query parameter '${param}'; use group_by, from, to or key_id.`
      : param === null
        ? `Invalid query: ${issue.message}.`
        : `Invalid query parameter '${param}': ${issue.message}.`;
  return throwBadParam(message, param);
}

function throwBadParam(message: string, param: string | null): never {
  throw new GatewayError(400, message, { param, code: 'invalid_value' });
}
