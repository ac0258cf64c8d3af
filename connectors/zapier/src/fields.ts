import { z } from 'zod';
import type { PlainInputField } from 'zapier-platform-core';
import { PreferSchema, type RoutedChatRequest } from './core';
import { StepError, sentence } from './errors';
import type { ChatOutcome } from './backends/types';

/** Zapier sends untouched optional fields as "" (or null); they mean "not set". */
export const blankToUndefined = (value: unknown): unknown =>
  value === null || (typeof value === 'string' && value.trim() === '') ? undefined : typeof value === 'string' ? value.trim() : value;

/** List fields arrive as arrays; a mapped value may arrive as one comma- or newline-separated string. */
export const toList = (value: unknown): unknown => {
  if (value === null || value === undefined) return [];
  const items = Array.isArray(value) ? value : typeof value === 'string' ? value.split(/[\n,]/) : [value];
  return items.map((item) => (typeof item === 'string' ? item.trim() : item)).filter((item) => item !== '' && item !== null && item !== undefined);
};

export const modelField = {
  key: 'model',
  label: 'Model',
  required: false,
  default: 'auto',
  dynamic: 'models.id.name',
  helpText:
    'Which model answers. **Auto** lets Switchyard pick the best fit for cost, speed and quality among the providers in your connection; pick a model (or type one, e.g. `openai/gpt-4.1-mini`) to pin it.',
} satisfies PlainInputField;

export const preferField = {
  key: 'prefer',
  label: 'Prefer',
  required: false,
  choices: [
    { value: 'balanced', label: 'Balanced', sample: 'balanced' },
    { value: 'cost', label: 'Lowest cost', sample: 'cost' },
    { value: 'latency', label: 'Fastest answer', sample: 'latency' },
    { value: 'quality', label: 'Best quality', sample: 'quality' },
  ],
  helpText: 'What Auto optimises for when it picks a model. Leave empty for balanced.',
} satisfies PlainInputField;

export const fallbackModelsField = {
  key: 'fallback_models',
  label: 'Fallback Models',
  required: false,
  list: true,
  dynamic: 'models.id.name',
  helpText: 'Models to try, in order, if the chosen one is rate limited, down or too slow. Switchyard already falls back across your providers when Model is Auto.',
} satisfies PlainInputField;

export const maxTokensField = {
  key: 'max_tokens',
  label: 'Max Tokens',
  type: 'integer',
  required: false,
  helpText: 'Upper limit on the length of the answer, in tokens (about 3/4 of a word each). Lower it to make steps faster and cheaper.',
} satisfies PlainInputField;

export const temperatureField = {
  key: 'temperature',
  label: 'Temperature',
  type: 'number',
  required: false,
  helpText: 'From 0 to 2. Low values (0-0.3) give focused, repeatable answers; higher values give more varied ones. Leave empty for the model default.',
} satisfies PlainInputField;

/** Model, Prefer and Fallback Models: every action routes. */
export const routingFields = [modelField, preferField, fallbackModelsField];

export const RoutingInputSchema = z.object({
  model: z.preprocess(blankToUndefined, z.string().min(1).default('auto')),
  prefer: z.preprocess(blankToUndefined, PreferSchema.optional()),
  fallback_models: z.preprocess(toList, z.array(z.string().min(1)).max(10, 'at most 10 models')),
});

const WHOLE_NUMBER = 'must be a whole number, e.g. 500';
const TEMPERATURE_RANGE = 'must be between 0 and 2';

export const GenerationInputSchema = z.object({
  max_tokens: z.preprocess(
    blankToUndefined,
    z.coerce
      .number({ error: WHOLE_NUMBER })
      .int(WHOLE_NUMBER)
      .positive('must be at least 1')
      .max(200_000, 'must be at most 200000')
      .optional(),
  ),
  temperature: z.preprocess(blankToUndefined, z.coerce.number({ error: 'must be a number between 0 and 2, e.g. 0.7' }).min(0, TEMPERATURE_RANGE).max(2, TEMPERATURE_RANGE).optional()),
});

export type RoutingInput = z.infer<typeof RoutingInputSchema>;

/** Parses inputData; the first problem becomes an error naming the field by its label. */
export function parseInput<T>(schema: z.ZodType<T>, inputData: unknown, fields: readonly PlainInputField[]): T {
  const data = (inputData ?? {}) as Record<string, unknown>;
  const parsed = schema.safeParse(data);
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0];
  const key = issue?.path[0];
  const label = fields.find((f) => f.key === key)?.label ?? (key === undefined ? 'input' : String(key));
  throw new StepError(sentence(`Field "${label}" ${describeIssue(issue, key === undefined ? undefined : data[String(key)])}`), 'invalid_input', 400);
}

/** "is required", or zod's message: ours read as predicates ("must be ..."), zod's own follow a colon. */
function describeIssue(issue: z.core.$ZodIssue | undefined, raw: unknown): string {
  if (blankToUndefined(raw) === undefined && issue?.code === 'invalid_type') return 'is required';
  const message = issue?.message ?? 'is invalid';
  if (/^(is|must|needs|accepts|lists|has) /.test(message)) return message;
  if (issue?.code === 'invalid_type' && issue.expected === 'int') return 'must be a whole number';
  // z.coerce.number() of "abc" is NaN, which zod words as "expected number, received NaN".
  if (issue?.code === 'invalid_type' && issue.expected === 'number') return 'must be a number';
  return `is invalid: ${message}`;
}

/** The routing part of a chat request. */
export function routingOf(input: RoutingInput): Pick<RoutedChatRequest, 'model' | 'routing'> {
  const routing: NonNullable<RoutedChatRequest['routing']> = {};
  if (input.prefer) routing.prefer = input.prefer;
  if (input.fallback_models.length > 0) routing.fallback_models = input.fallback_models;
  return { model: input.model, ...(Object.keys(routing).length > 0 ? { routing } : {}) };
}

/** What every action reports besides its answer. */
export const routeOutputFields = [
  { key: 'model', label: 'Model Used', type: 'string' },
  { key: 'provider', label: 'Provider', type: 'string' },
  { key: 'cost_usd', label: 'Cost (USD)', type: 'number' },
  { key: 'latency_ms', label: 'Latency (ms)', type: 'integer' },
  { key: 'attempts', label: 'Attempts', type: 'integer' },
  { key: 'attempt_log', label: 'Attempt Log', type: 'string' },
  { key: 'cached', label: 'Served From Cache', type: 'boolean' },
  { key: 'why_this_model', label: 'Why This Model', type: 'string' },
  { key: 'prompt_tokens', label: 'Prompt Tokens', type: 'integer' },
  { key: 'completion_tokens', label: 'Completion Tokens', type: 'integer' },
] as const;

export interface RouteOutput {
  model: string;
  provider: string;
  cost_usd: number;
  latency_ms: number;
  attempts: number;
  attempt_log: string;
  cached: boolean;
  why_this_model: string;
  prompt_tokens: number;
  completion_tokens: number;
}

/** The route story fields, summed over every call a step made (the repair call included). */
export function routeOutput(outcomes: readonly ChatOutcome[]): RouteOutput {
  const last = outcomes[outcomes.length - 1];
  if (!last) throw new Error('routeOutput needs at least one outcome');
  const sum = (pick: (o: ChatOutcome) => number) => outcomes.reduce((acc, o) => acc + pick(o), 0);
  return {
    model: last.model,
    provider: last.provider,
    cost_usd: Math.round(sum((o) => o.costUsd) * 1e6) / 1e6,
    latency_ms: sum((o) => o.latencyMs),
    attempts: sum((o) => o.attempts),
    attempt_log: outcomes.map((o) => o.attemptLog).join('; '),
    cached: outcomes.every((o) => o.cached),
    // The call that answered last (a repair goes to the model that answered first) says why its model.
    why_this_model: last.reason,
    prompt_tokens: sum((o) => o.usage?.prompt_tokens ?? 0),
    completion_tokens: sum((o) => o.usage?.completion_tokens ?? 0),
  };
}

/** Sample values of the route fields, for every action's `sample`. */
export const sampleRouteOutput: RouteOutput = {
  model: 'openai/gpt-4.1-mini',
  provider: 'openai',
  cost_usd: 0.000214,
  latency_ms: 1840,
  attempts: 2,
  attempt_log: 'anthropic/claude-haiku-4-5: rate_limited (429, 212 ms); openai/gpt-4.1-mini: ok (1628 ms)',
  cached: false,
  why_this_model: 'You asked for anthropic/claude-haiku-4-5; anthropic/claude-haiku-4-5 is tried first (about $0.00024 and 1.1 s per call).',
  prompt_tokens: 182,
  completion_tokens: 96,
};
