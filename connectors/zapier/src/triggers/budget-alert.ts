import { z } from 'zod';
import type { Bundle, PlainInputField, Trigger, ZObject } from 'zapier-platform-core';
import { fetchSpend, fetchSpendScope, type SpendScope } from '../backends/gateway';
import { StepError } from '../errors';
import { blankToUndefined, parseInput } from '../fields';
import { runStep } from '../step';

const PeriodSchema = z.enum(['day', 'month']);
type Period = z.infer<typeof PeriodSchema>;

const inputFields = [
  {
    key: 'threshold_usd',
    label: 'Threshold (USD)',
    type: 'number',
    required: true,
    helpText:
      "Fire when spend in the period reaches this many US dollars, e.g. `50`. Fires once per period (and again if you change the threshold). What counts depends on the connection's Gateway API Key: a gateway key counts only the calls made with that key; the server's admin key counts every call on the server.",
  },
  {
    key: 'period',
    label: 'Period',
    required: false,
    default: 'month',
    choices: [
      { value: 'day', label: 'Day (UTC)', sample: 'day' },
      { value: 'month', label: 'Calendar month (UTC)', sample: 'month' },
    ],
    helpText: 'Spend is counted from the start of the current UTC day or month.',
  },
] as const satisfies readonly PlainInputField[];

const InputSchema = z.object({
  threshold_usd: z.preprocess(blankToUndefined, z.coerce.number({ error: 'must be a number of US dollars, e.g. 50' }).positive('must be more than 0')),
  period: z.preprocess(blankToUndefined, PeriodSchema.default('month')),
});

/** Start of the current UTC day or month. */
export function periodStart(period: Period, now: Date): Date {
  return period === 'day'
    ? new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate()))
    : new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), 1));
}

/** One id per threshold and period, so Zapier's deduplication lets each crossing fire exactly once. */
export function crossingId(period: Period, start: Date, thresholdUsd: number): string {
  const label = period === 'day' ? start.toISOString().slice(0, 10) : start.toISOString().slice(0, 7);
  return `budget-${period}-${label}-${thresholdUsd}`;
}

/** What the spend covers, in words a Zap's later steps can show as they are. */
export const COUNTED: Record<SpendScope, string> = {
  api_key: "Only calls made with this connection's Gateway API Key (connect with the server's admin key to count the whole server)",
  server: 'Every call on the Switchyard server (all keys)',
};

async function perform(z: ZObject, bundle: Bundle) {
  return runStep(z, bundle, async ({ connection }) => {
    if (connection.mode !== 'gateway') {
      throw new StepError(
        'Budget Alert reads spend from a Switchyard server\'s usage log: connect the app in "Gateway server" mode to use it.',
        'gateway_required',
        400,
      );
    }
    const input = parseInput(InputSchema, bundle.inputData, inputFields);
    const now = new Date();
    const start = periodStart(input.period, now);
    const spend = await fetchSpend(z, connection, start);
    if (spend.costUsd < input.threshold_usd) return [];
    const scope = await fetchSpendScope(z, connection, now);
    return [
      {
        id: crossingId(input.period, start, input.threshold_usd),
        period: input.period,
        period_start: start.toISOString(),
        threshold_usd: input.threshold_usd,
        spent_usd: spend.costUsd,
        over_by_usd: Math.round((spend.costUsd - input.threshold_usd) * 1e6) / 1e6,
        calls: spend.calls,
        counted: scope,
        counted_description: COUNTED[scope],
        checked_at: now.toISOString(),
      },
    ];
  });
}

export const budgetAlert = {
  key: 'budget_alert',
  noun: 'Budget Alert',
  display: {
    label: 'Budget Alert',
    description:
      "Triggers when AI spend reaches a threshold in the current day or month: the spend of the connection's Gateway API Key, or of the whole Switchyard server when the connection uses the server's admin key (Gateway server connections).",
  },
  operation: {
    type: 'polling',
    inputFields: [...inputFields],
    perform,
    sample: {
      id: 'budget-month-2026-11-50',
      period: 'month',
      period_start: '2026-11-01T00:00:00.000Z',
      threshold_usd: 50,
      spent_usd: 50.412,
      over_by_usd: 0.412,
      calls: 18342,
      counted: 'api_key',
      counted_description: COUNTED.api_key,
      checked_at: '2026-11-22T09:15:00.000Z',
    },
    outputFields: [
      { key: 'id', label: 'Alert ID', type: 'string' },
      { key: 'period', label: 'Period', type: 'string' },
      { key: 'period_start', label: 'Period Start', type: 'datetime' },
      { key: 'threshold_usd', label: 'Threshold (USD)', type: 'number' },
      { key: 'spent_usd', label: 'Spent (USD)', type: 'number' },
      { key: 'over_by_usd', label: 'Over Threshold By (USD)', type: 'number' },
      { key: 'calls', label: 'Calls in Period', type: 'integer' },
      { key: 'counted', label: 'Spend Counted For (api_key or server)', type: 'string' },
      { key: 'counted_description', label: 'Spend Counted For (Description)', type: 'string' },
      { key: 'checked_at', label: 'Checked At', type: 'datetime' },
    ],
  },
} satisfies Trigger;
