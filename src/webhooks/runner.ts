/**
 * Runs a flow's model call: renders the prompt templates over the event's fields, applies the
 * routing hints, and for JSON flows asks for structured output (the core's completeStructured:
 * schema sent as `response_format: json_schema`, answer checked with ajv, one repair call).
 */
import { GatewayError } from '../core/errors';
import type { Switchyard } from '../core/gateway';
import type { RouteStory, RoutedChatRequest } from '../core/routing/types';
import { retryAfterMsFromHeaders } from '../core/retry-after';
import type { ChatMessage } from '../core/schema';
import { StructuredOutputError, completeStructured, completionText, withResponseFormat } from '../core/tasks';
import { isRetryableStatus } from './clients/http';
import type { Flow, JsonOutput } from './config';
import { renderTemplate } from './template';
import { truncate } from './text';
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
    const require = new Set(routing?.require ?? []);
    require.add('json_schema');
    request.routing = { ...routing, require: [...require] };
    return withResponseFormat(request, { name: flow.output.name, schema: flow.output.schema });
  }
  if (routing) request.routing = routing;
  return request;
}

/**
 * Errors of the routed call, as job errors: 4xx (but 408/425/429) are permanent. So is an answer that
 * still misses the schema after the repair call: each attempt costs two calls, so the job goes to
 * the dead letters for replay instead.
 */
function toJobError(err: unknown): JobError {
  if (err instanceof JobError) return err;
  if (err instanceof StructuredOutputError) {
    return new JobError(`the answer ${err.problem}${err.repair === 'failed' ? ' (after one repair attempt)' : ''}`, { retryable: false, cause: err });
  }
  if (err instanceof GatewayError) {
    return new JobError(`model call failed: ${err.message}`, {
      retryable: isRetryableStatus(err.status),
      status: err.status,
      retryAfterMs: retryAfterMsFromHeaders(new Headers(err.headers)),
      cause: err,
    });
  }
  return new JobError(`model call failed: ${(err as Error)?.message ?? String(err)}`, { retryable: true, cause: err });
}

/** A text flow's routed answer; routing failures and refusals become job errors. */
async function answer(switchyard: Switchyard, request: RoutedChatRequest, opts: RunOptions): Promise<{ story: RouteStory; text: string }> {
  try {
    const completion = await switchyard.chat(request, { signal: opts.signal });
    return { story: completion.story, text: (completionText(completion) ?? '').trim() };
  } catch (err) {
    throw toJobError(err);
  }
}

/** Cuts at the last word boundary before `max` characters (never inside a surrogate pair). */
export function clip(text: string, max: number | undefined): string {
  if (max === undefined || text.length <= max) return text;
  const cut = truncate(text, max);
  if (/\s/.test(text[cut.length] ?? '')) return cut.trimEnd();
  const space = cut.lastIndexOf(' ');
  return (space > max * 0.6 ? cut.slice(0, space) : cut).trimEnd();
}

async function runJson(switchyard: Switchyard, request: RoutedChatRequest, output: JsonOutput, opts: RunOptions): Promise<FlowResult> {
  const { messages, response_format: _format, ...params } = request;
  try {
    const result = await completeStructured(switchyard, { ...params, messages, name: output.name, schema: output.schema, repair: output.repair, signal: opts.signal });
    return { ...resultOf(result.story, result.text, result.data), ...(result.repaired ? { repaired: true } : {}) };
  } catch (err) {
    throw toJobError(err);
  }
}

function resultOf(story: RouteStory, text: string, json: unknown): FlowResult {
  const result: FlowResult = { text, model: story.model, provider: story.provider, costUsd: story.costUsd };
  if (json !== undefined) result.json = json;
  return result;
}

/** The flow's answer for one event. Throws JobError (retryable or not). */
export async function runFlow(flow: Flow, fields: Record<string, unknown>, switchyard: Switchyard, opts: RunOptions = {}): Promise<FlowResult> {
  const request = buildRequest(flow, fields);
  if (flow.output.type === 'json') return runJson(switchyard, request, flow.output, opts);
  const answered = await answer(switchyard, request, opts);
  const text = clip(answered.text, flow.output.max_chars);
  if (text === '') throw new JobError('the model returned an empty answer', { retryable: true });
  return resultOf(answered.story, text, undefined);
}
