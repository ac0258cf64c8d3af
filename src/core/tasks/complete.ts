/**
 * The structured-output loop on a `Switchyard`, and the request helpers the tasks share.
 *
 * Errors of `completeStructured` (and of extractData / classifyText):
 * - 400 `invalid_value` / `invalid_json_schema`: bad input (no prompt, a schema ajv cannot compile).
 * - 422 `model_refusal`: the model declined to answer (a refusal is not repaired).
 * - 502 `invalid_model_output` (StructuredOutputError): the answer still did not fit after the
 *   repair call, or no repair was allowed; like any unusable upstream answer, a later retry may succeed.
 * - whatever the routed call throws (GatewayError with the upstream's status).
 */
import { z } from 'zod';
import { GatewayError, validationError } from '../errors';
import type { Switchyard } from '../gateway';
import type { RouteStory, RoutedChatRequest, RoutedCompletion } from '../routing/types';
import { MessageSchema, type ChatMessage, type ChatResponse } from '../schema';
import { mergeStories } from './story';
import { runStructured, type RepairOutcome, type StructuredBackend, type StructuredRunOptions, type StructuredSpec } from './structured';

/** An answer that still does not fit the schema: 502, like any unusable upstream answer. */
export class StructuredOutputError extends GatewayError {
  readonly problem: string;
  readonly repair: RepairOutcome;
  /** One per call made (the first answer, and the repair). */
  readonly stories: RouteStory[];

  constructor(schemaName: string, failed: { problem: string; repair: RepairOutcome; stories: RouteStory[] }) {
    const model = failed.stories[failed.stories.length - 1]?.model ?? 'the model';
    const why = { failed: ' (after one repair attempt)', no_time: ' (no time was left for a repair attempt)', disabled: '' }[failed.repair];
    super(502, `${model}'s answer does not fit the JSON schema '${schemaName}': the answer ${failed.problem}${why}`, { type: 'api_error', code: 'invalid_model_output' });
    this.name = 'StructuredOutputError';
    this.problem = failed.problem;
    this.repair = failed.repair;
    this.stories = failed.stories;
  }
}

/** The text of a routed answer; a refusal is an error (422), not something to repair. */
export function completionText(completion: RoutedCompletion): string | null {
  const message = completion.response.choices[0]?.message;
  if (message?.refusal && !message.content) {
    throw new GatewayError(422, `${completion.story.model} declined to answer: ${message.refusal}`, { code: 'model_refusal' });
  }
  return message?.content ?? null;
}

export const switchyardBackend = (switchyard: Pick<Switchyard, 'chat'>): StructuredBackend<RoutedCompletion> => ({
  chat: (request, options) => switchyard.chat(request, options),
  text: completionText,
  model: (completion) => completion.story.model,
});

/** Request fields a task caller may set besides the messages (model defaults to "auto"). */
export type ChatParams = Partial<
  Pick<RoutedChatRequest, 'model' | 'models' | 'routing' | 'temperature' | 'top_p' | 'max_tokens' | 'max_completion_tokens' | 'seed' | 'user' | 'metadata'>
>;

const PromptInputSchema = z
  .object({
    messages: z.array(MessageSchema).min(1).optional(),
    prompt: z.string().trim().min(1, 'must not be empty').optional(),
    system: z.string().optional(),
  })
  .refine((input) => (input.messages === undefined) !== (input.prompt === undefined), { message: 'give either messages or prompt', path: ['prompt'] });

export type PromptInput = z.input<typeof PromptInputSchema>;

/** `prompt` (one user turn) or `messages`, after the optional `system` message. */
export function promptMessages(input: PromptInput): ChatMessage[] {
  const parsed = PromptInputSchema.safeParse({ messages: input.messages, prompt: input.prompt, system: input.system });
  if (!parsed.success) throw validationError(parsed.error);
  const { messages, prompt, system } = parsed.data;
  return [...(system?.trim() ? [{ role: 'system' as const, content: system }] : []), ...(messages ?? [{ role: 'user' as const, content: prompt ?? '' }])];
}

export type StructuredOptions<T> = PromptInput & ChatParams & StructuredSpec<T> & StructuredRunOptions;

export interface StructuredResult<T> {
  data: T;
  /** The raw text of the answer that fit. */
  text: string;
  /** The answer that fit (the repair's when there was one). */
  response: ChatResponse;
  /** Every call summed up: cost, latency, usage and attempts over the first call and the repair. */
  story: RouteStory;
  /** Each call's own story. */
  stories: RouteStory[];
  repaired: boolean;
}

/** Splits a task caller's options into the request, the spec and the run options. */
function splitOptions<T>(options: StructuredOptions<T>): { request: RoutedChatRequest; spec: StructuredSpec<T>; run: StructuredRunOptions } {
  const { messages, prompt, system, name, schema, description, strict, validationSchema, refine, repair, minRepairMs, clock, signal, deadlineMs, ...params } = options;
  const request: RoutedChatRequest = { ...params, model: params.model ?? 'auto', messages: promptMessages({ messages, prompt, system }) };
  const spec: StructuredSpec<T> = { name, schema, description, strict, validationSchema, refine };
  return { request, spec, run: { repair, minRepairMs, clock, signal, deadlineMs } };
}

/**
 * A routed call whose answer is JSON matching `schema`, with one repair call when it is not.
 * Throws StructuredOutputError (502) when the answer still does not fit; see the module comment.
 */
export async function completeStructured<T = unknown>(switchyard: Pick<Switchyard, 'chat'>, options: StructuredOptions<T>): Promise<StructuredResult<T>> {
  const { request, spec, run } = splitOptions(options);
  const result = await runStructured(switchyardBackend(switchyard), request, spec, run);
  const stories = result.calls.map((c) => c.story);
  if (!result.ok) throw new StructuredOutputError(spec.name, { problem: result.problem, repair: result.repair, stories });
  const answered = result.calls[result.calls.length - 1] as RoutedCompletion;
  return { data: result.data, text: result.text, response: answered.response, story: mergeStories(stories), stories, repaired: result.repaired };
}
