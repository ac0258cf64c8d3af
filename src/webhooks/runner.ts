/**
 * Runs a flow's model call: renders the prompt templates over the event's fields, applies the
 * routing hints, and for JSON flows sends the schema as `response_format: json_schema`, checks
 * the answer with ajv and makes one repair call when it is invalid.
 */
import { GatewayError } from '../core/errors';
import type { Switchyard } from '../core/gateway';
import type { RoutedChatRequest, RoutedCompletion } from '../core/routing/types';
import type { ChatMessage } from '../core/schema';
import type { Flow, JsonOutput } from './config';
import { checkJson } from './json-output';
import { renderTemplate } from './template';
import { JobError, type FlowResult } from './types';

export interface RunOptions {
  signal?: AbortSignal;
}

/** The chat request a flow sends for an event. */
export function buildRequest(flow: Flow, fields: Record<string, unknown>): RoutedChatRequest {
  const messages: ChatMessage[] = [];
  if (flow.system) messages.push({ role: 'system', content: renderTemplate(flow.system, fields) });
  messages.push({ role: 'user', content: renderTemplate(flow.prompt, fields) });
  const request: RoutedChatRequest = { model: flow.model, messages };
  if (flow.models) request.models = flow.models;
  if (flow.temperature !== undefined) request.temperature = flow.temperature;
  if (flow.max_tokens !== undefined) request.max_tokens = flow.max_tokens;
  const routing = flow.routing ? { ...flow.routing } : undefined;
  if (flow.output.type === 'json') {
    request.response_format = { type: 'json_schema', json_schema: { name: flow.output.name, schema: flow.output.schema } };
    const require = new Set(routing?.require ?? []);
    require.add('json_schema');
    request.routing = { ...routing, require: [...require] };
  } else if (routing) {
    request.routing = routing;
  }
  return request;
}

/** Errors of the routed call, as job errors: 4xx (but 408/429) are permanent. */
function toJobError(err: unknown): JobError {
  if (err instanceof JobError) return err;
  if (err instanceof GatewayError) {
    const retryAfter = Number(err.headers['retry-after']);
    const retryable = err.status >= 500 || err.status === 408 || err.status === 429;
    return new JobError(`model call failed: ${err.message}`, {
      retryable,
      status: err.status,
      retryAfterMs: Number.isFinite(retryAfter) ? retryAfter * 1000 : undefined,
      cause: err,
    });
  }
  return new JobError(`model call failed: ${(err as Error)?.message ?? String(err)}`, { retryable: true, cause: err });
}

async function call(switchyard: Switchyard, request: RoutedChatRequest, opts: RunOptions): Promise<RoutedCompletion> {
  try {
    return await switchyard.chat(request, { signal: opts.signal });
  } catch (err) {
    throw toJobError(err);
  }
}

function contentOf(completion: RoutedCompletion): string {
  const message = completion.response.choices[0]?.message;
  if (message?.content == null) {
    const why = message?.refusal ? `the model refused: ${message.refusal}` : 'the model returned no text';
    throw new JobError(why, { retryable: false });
  }
  return message.content;
}

/** Cuts at the last word boundary before `max` characters. */
export function clip(text: string, max: number | undefined): string {
  if (max === undefined || text.length <= max) return text;
  const cut = text.slice(0, max);
  if (/\s/.test(text[max] ?? '')) return cut.trimEnd();
  const space = cut.lastIndexOf(' ');
  return (space > max * 0.6 ? cut.slice(0, space) : cut).trimEnd();
}

async function runJson(
  switchyard: Switchyard,
  request: RoutedChatRequest,
  output: JsonOutput,
  opts: RunOptions,
): Promise<FlowResult> {
  const first = await call(switchyard, request, opts);
  const text = contentOf(first);
  const checked = checkJson(text, output.schema);
  if (checked.ok) return resultOf(first, text, checked.value, first.story.costUsd);
  if (!output.repair) throw new JobError(`the answer ${checked.problem}`, { retryable: false });
  const repair: RoutedChatRequest = {
    ...request,
    messages: [
      ...request.messages,
      { role: 'assistant', content: text },
      {
        role: 'user',
        content: `Your answer ${checked.problem}. Reply again with only the corrected JSON object, matching the JSON schema exactly, and nothing else.`,
      },
    ],
  };
  const second = await call(switchyard, repair, opts);
  const retext = contentOf(second);
  const rechecked = checkJson(retext, output.schema);
  const cost = first.story.costUsd + second.story.costUsd;
  // A second invalid answer is not retried: each attempt costs two calls; the job goes to the dead letters for replay.
  if (!rechecked.ok) throw new JobError(`the answer ${rechecked.problem} (after one repair attempt)`, { retryable: false });
  return { ...resultOf(second, retext, rechecked.value, cost), repaired: true };
}

function resultOf(completion: RoutedCompletion, text: string, json: unknown, costUsd: number): FlowResult {
  const result: FlowResult = { text, model: completion.story.model, provider: completion.story.provider, costUsd };
  if (json !== undefined) result.json = json;
  return result;
}

/** The flow's answer for one event. Throws JobError (retryable or not). */
export async function runFlow(flow: Flow, fields: Record<string, unknown>, switchyard: Switchyard, opts: RunOptions = {}): Promise<FlowResult> {
  const request = buildRequest(flow, fields);
  if (flow.output.type === 'json') return runJson(switchyard, request, flow.output, opts);
  const completion = await call(switchyard, request, opts);
  const text = clip(contentOf(completion).trim(), flow.output.max_chars);
  if (text === '') throw new JobError('the model returned an empty answer', { retryable: true });
  return resultOf(completion, text, undefined, completion.story.costUsd);
}
