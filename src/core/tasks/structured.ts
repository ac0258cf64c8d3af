/**
 * Structured output: a chat call whose answer must be JSON matching a schema. The schema goes to
 * the provider as `response_format: json_schema`, the answer is checked with ajv, and an invalid
 * answer (not JSON, or not matching) gets exactly one repair call that shows the model its answer
 * and the errors.
 *
 * `runStructured` is the loop over any chat backend: the core (complete.ts), or a Switchyard
 * server over HTTP, as the connectors' gateway modes use it.
 */
import { z } from 'zod';
import { systemClock, type Clock } from '../clock';
import { GatewayError, validationError } from '../errors';
import type { CallOptions, RoutedChatRequest } from '../routing/types';
import type { ChatMessage } from '../schema';
import { checkJsonAnswer, jsonSchemaProblem, type Check, type JsonSchema } from './json';

/** What a structured answer must look like, and how it is checked. */
export interface StructuredSpec<T = unknown> {
  /** `response_format.json_schema.name`: 1-64 letters, digits, _ or -. */
  name: string;
  /** Sent to the provider, which enforces it where it can. */
  schema: JsonSchema;
  description?: string;
  /** OpenAI-style strict mode; set it when the schema follows strict mode's rules. */
  strict?: boolean;
  /** What the answer is checked against here (default: `schema`), e.g. with bounds strict mode cannot carry. */
  validationSchema?: JsonSchema;
  /** A last check, or a normalisation, after the schema check (e.g. a label matched to the caller's spelling). */
  refine?: (value: unknown) => Check<T>;
}

/** The messages and spec of a ready-made task (extraction, classification). */
export interface StructuredTask<T> {
  messages: ChatMessage[];
  spec: StructuredSpec<T>;
}

const SpecDataSchema = z.object({
  name: z.string().regex(/^[a-zA-Z0-9_-]{1,64}$/, 'must be 1-64 letters, digits, _ or -'),
  schema: z.record(z.string(), z.unknown()),
  description: z.string().optional(),
  strict: z.boolean().optional(),
  validationSchema: z.record(z.string(), z.unknown()).optional(),
});

/** Throws a 400 naming the problem when the spec cannot be used. */
export function assertSpec(spec: StructuredSpec<unknown>): void {
  const parsed = SpecDataSchema.safeParse(spec);
  if (!parsed.success) throw validationError(parsed.error);
  for (const key of ['schema', 'validationSchema'] as const) {
    const schema = spec[key];
    const problem = schema === undefined ? undefined : jsonSchemaProblem(schema);
    if (problem) throw new GatewayError(400, `Invalid request: '${key}' is not a valid JSON schema: ${problem}`, { param: key, code: 'invalid_json_schema' });
  }
}

/** Checks an answer against the spec; a problem reads after "the answer" ("is not valid JSON (...)"). */
export function checkStructured<T>(text: string | null, spec: StructuredSpec<T>): Check<T> {
  const checked = checkJsonAnswer(text, spec.validationSchema ?? spec.schema);
  if (!checked.ok) return checked;
  return spec.refine ? spec.refine(checked.value) : (checked as Check<T>);
}

/** The request with the spec as its `response_format`. */
export function withResponseFormat(request: RoutedChatRequest, spec: StructuredSpec<unknown>): RoutedChatRequest {
  const json_schema: { name: string; schema: JsonSchema; description?: string; strict?: boolean } = { name: spec.name, schema: spec.schema };
  if (spec.description !== undefined) json_schema.description = spec.description;
  if (spec.strict !== undefined) json_schema.strict = spec.strict;
  return { ...request, response_format: { type: 'json_schema', json_schema } };
}

/** The one repair call: the conversation, the invalid answer, and what was wrong with it. */
export function repairRequest(request: RoutedChatRequest, answer: string | null, problem: string, model?: string): RoutedChatRequest {
  return {
    ...request,
    ...(model ? { model } : {}),
    messages: [
      ...request.messages,
      { role: 'assistant', content: answer ?? '' },
      { role: 'user', content: `Your answer ${problem}. Reply again with only the corrected JSON object, matching the JSON schema exactly, and nothing else.` },
    ],
  };
}

/** Where structured calls go: what a call returns (`C`) is the backend's own. */
export interface StructuredBackend<C> {
  chat(request: RoutedChatRequest, options: CallOptions): Promise<C>;
  /** The answer's text (null when there is none); may throw, e.g. on a refusal. */
  text(completion: C): string | null;
  /** The model that answered: the repair call goes to it first (it sees its own answer). */
  model?(completion: C): string | undefined;
}

/** Why an invalid answer was not repaired: the repair failed too, no time was left, or repairs are off. */
export type RepairOutcome = 'failed' | 'no_time' | 'disabled';

export type StructuredRun<T, C> =
  | { ok: true; data: T; text: string; calls: C[]; repaired: boolean }
  | { ok: false; problem: string; repair: RepairOutcome; calls: C[] };

export interface StructuredRunOptions extends CallOptions {
  /** One repair call for an invalid answer (default true). */
  repair?: boolean;
  /** With `deadlineMs`: a repair call is not started with less time than this left (default 1 ms). */
  minRepairMs?: number;
  clock?: Pick<Clock, 'now'>;
}

/** The time left of `deadlineMs` for each call, from an injectable clock. */
function budget(options: StructuredRunOptions) {
  const clock = options.clock ?? systemClock;
  const startedAt = clock.now();
  const remaining = () => (options.deadlineMs === undefined ? undefined : options.deadlineMs - (clock.now() - startedAt));
  return {
    callOptions(): CallOptions {
      const left = remaining();
      return { ...(options.signal ? { signal: options.signal } : {}), ...(left !== undefined ? { deadlineMs: Math.max(1, left) } : {}) };
    },
    allowsRepair(): boolean {
      const left = remaining();
      return left === undefined || left >= Math.max(1, options.minRepairMs ?? 1);
    },
  };
}

/**
 * Asks for a structured answer and checks it; an invalid one gets exactly one repair call.
 * Resolves with the data, or with why the answer is unusable; call failures reject as the backend's.
 */
export async function runStructured<T, C>(
  backend: StructuredBackend<C>,
  request: RoutedChatRequest,
  spec: StructuredSpec<T>,
  options: StructuredRunOptions = {},
): Promise<StructuredRun<T, C>> {
  assertSpec(spec);
  const time = budget(options);
  const asked = withResponseFormat(request, spec);
  const first = await backend.chat(asked, time.callOptions());
  const firstText = backend.text(first);
  const firstCheck = checkStructured(firstText, spec);
  if (firstCheck.ok) return { ok: true, data: firstCheck.value, text: firstText ?? '', calls: [first], repaired: false };

  const refused = options.repair === false ? 'disabled' : time.allowsRepair() ? undefined : 'no_time';
  if (refused) return { ok: false, problem: firstCheck.problem, repair: refused, calls: [first] };

  const second = await backend.chat(repairRequest(asked, firstText, firstCheck.problem, backend.model?.(first)), time.callOptions());
  const secondText = backend.text(second);
  const secondCheck = checkStructured(secondText, spec);
  if (secondCheck.ok) return { ok: true, data: secondCheck.value, text: secondText ?? '', calls: [first, second], repaired: true };
  return { ok: false, problem: secondCheck.problem, repair: 'failed', calls: [first, second] };
}
