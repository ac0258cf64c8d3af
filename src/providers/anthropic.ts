import { z } from 'zod';
import type { CallContext, ListedModel, ProviderAdapter, ProviderCredentials } from '../core/adapter';
import { ProviderError } from '../core/errors';
import { joinUrl, providerErrorFrom, sendUpstream, type ErrorDetails, type UpstreamCall } from '../core/http';
import type { ChatChunk, ChatMessage, ChatRequest, ChatResponse, ContentPart, FinishReason, ToolCall, Usage } from '../core/schema';
import { contentText, jsonInstruction, parseEventJson, parseWire, portableToolCallId, textSegments, tokenCount } from './wire';

export { JSON_OBJECT_INSTRUCTION } from './wire';

/**
 * Anthropic Messages API (POST /v1/messages) behind the unified OpenAI-shaped interface.
 * The base URL carries no `/v1` (default https://api.anthropic.com).
 */

export const ANTHROPIC_VERSION = '2023-06-01';
/** Anthropic requires max_tokens; OpenAI callers usually leave it out. */
export const DEFAULT_MAX_TOKENS = 4096;
const IMAGE_MEDIA_TYPES: ReadonlySet<string> = new Set(['image/jpeg', 'image/png', 'image/gif', 'image/webp']);
const MAX_MODEL_PAGES = 20;

// ---------------------------------------------------------------------------
// What we send

type ImageSource = { type: 'base64'; media_type: string; data: string } | { type: 'url'; url: string };

type AnthropicBlock =
  | { type: 'text'; text: string }
  | { type: 'image'; source: ImageSource }
  | { type: 'tool_use'; id: string; name: string; input: Record<string, unknown> }
  | { type: 'tool_result'; tool_use_id: string; content: string };

interface AnthropicTurn {
  role: 'user' | 'assistant';
  content: AnthropicBlock[];
}

interface AnthropicTool {
  name: string;
  description?: string;
  input_schema: Record<string, unknown>;
}

type AnthropicToolChoice =
  | { type: 'none' }
  | { type: 'auto' | 'any'; disable_parallel_tool_use?: boolean }
  | { type: 'tool'; name: string; disable_parallel_tool_use?: boolean };

export interface AnthropicRequestBody {
  model: string;
  max_tokens: number;
  messages: AnthropicTurn[];
  system?: string;
  temperature?: number;
  top_p?: number;
  stop_sequences?: string[];
  metadata?: { user_id: string };
  tools?: AnthropicTool[];
  tool_choice?: AnthropicToolChoice;
  stream?: boolean;
}

export interface MappedRequest {
  body: AnthropicRequestBody;
  /** Name of the synthetic tool that carries a json_schema answer, if any. */
  jsonTool?: string;
}

// ---------------------------------------------------------------------------
// What we receive (read loosely: new fields must not break us)

const WireUsageSchema = z.looseObject({
  input_tokens: z.number().nullish(),
  output_tokens: z.number().nullish(),
  cache_creation_input_tokens: z.number().nullish(),
  cache_read_input_tokens: z.number().nullish(),
});

const WireBlockSchema = z.looseObject({
  type: z.string(),
  text: z.string().optional(),
  id: z.string().optional(),
  name: z.string().optional(),
  input: z.unknown().optional(),
});

const WireMessageSchema = z.looseObject({
  id: z.string(),
  model: z.string().optional(),
  content: z.array(WireBlockSchema),
  stop_reason: z.string().nullish(),
  usage: WireUsageSchema.optional(),
});

const WireErrorSchema = z.looseObject({
  error: z.looseObject({ type: z.string().optional(), message: z.string().optional() }),
});

const WireModelListSchema = z.looseObject({
  data: z.array(z.looseObject({ id: z.string() })),
  has_more: z.boolean().optional(),
  last_id: z.string().nullish(),
});

const WireEvents = {
  message_start: z.looseObject({ message: WireMessageSchema }),
  content_block_start: z.looseObject({ index: z.number().int(), content_block: WireBlockSchema }),
  content_block_delta: z.looseObject({
    index: z.number().int(),
    delta: z.looseObject({ type: z.string(), text: z.string().optional(), partial_json: z.string().optional() }),
  }),
  message_delta: z.looseObject({
    delta: z.looseObject({ stop_reason: z.string().nullish() }),
    usage: WireUsageSchema.nullish(),
  }),
  error: WireErrorSchema,
};

type WireUsage = z.infer<typeof WireUsageSchema>;
type WireMessage = z.infer<typeof WireMessageSchema>;

// ---------------------------------------------------------------------------
// Errors

const PROMPT_TOO_LONG_RE = /prompt is too long|exceeds? (the )?context (limit|window)|context length|too many (input )?tokens/i;

function kindOfErrorType(type: string | undefined, message: string): Pick<ErrorDetails, 'kind' | 'retryable'> {
  switch (type) {
    case 'rate_limit_error':
      return { kind: 'rate_limited' };
    case 'overloaded_error':
      return { kind: 'overloaded' };
    case 'authentication_error':
    case 'permission_error':
      return { kind: 'auth' };
    case 'billing_error':
      // Out of credit, as OpenRouter's and DeepSeek's 402: a quota the caller cannot retry past.
      return { kind: 'rate_limited', retryable: false };
    case 'invalid_request_error':
    case 'request_too_large':
      return { kind: PROMPT_TOO_LONG_RE.test(message) ? 'context_length_exceeded' : 'bad_request' };
    case 'not_found_error':
      return { kind: 'bad_request' };
    case 'timeout_error':
      return { kind: 'timeout' };
    case 'api_error':
      return { kind: 'upstream_error' };
    default:
      return {}; // the HTTP status decides (529 without a body is still overloaded)
  }
}

/** `{"type":"error","error":{"type","message"}}`, as HTTP bodies and as the stream's `error` event. */
export function readAnthropicError(status: number, body: unknown, raw: string): ErrorDetails {
  const parsed = WireErrorSchema.safeParse(body);
  const type = parsed.success ? parsed.data.error.type : undefined;
  const message = (parsed.success ? parsed.data.error.message : undefined) ?? (raw.slice(0, 300) || `HTTP ${status}`);
  if (status === 402) return { message: `the provider account is out of credit: ${message}`, code: type ?? 'billing_error', kind: 'rate_limited', retryable: false };
  return { message, code: type, ...kindOfErrorType(type, message) };
}

// ---------------------------------------------------------------------------
// Request mapping

/** Input Anthropic cannot take; the adapter turns it into a bad_request naming the field. */
class MappingError extends Error {}

type AssistantMessage = Extract<ChatMessage, { role: 'assistant' }>;

/** Anthropic rejects empty text blocks, so empty strings produce none. */
function textBlocks(content: ChatMessage['content']): AnthropicBlock[] {
  return textSegments(content)
    .filter((text) => text.length > 0)
    .map((text) => ({ type: 'text', text }));
}

const DATA_URL_RE = /^data:([^;,]+);base64,(.+)$/s;

function imageBlock(url: string, path: string): AnthropicBlock {
  const data = DATA_URL_RE.exec(url);
  if (data) {
    const mediaType = (data[1] ?? '').toLowerCase();
    if (!IMAGE_MEDIA_TYPES.has(mediaType)) {
      throw new MappingError(`${path}: Anthropic accepts image/jpeg, image/png, image/gif or image/webp, not '${mediaType}'`);
    }
    return { type: 'image', source: { type: 'base64', media_type: mediaType, data: data[2] ?? '' } };
  }
  if (/^https?:\/\//i.test(url)) return { type: 'image', source: { type: 'url', url } };
  throw new MappingError(`${path}: expected a base64 data: URL or an http(s) URL`);
}

function userBlocks(content: string | ContentPart[], path: string): AnthropicBlock[] {
  if (typeof content === 'string') return textBlocks(content);
  return content.flatMap((part, j) =>
    part.type === 'text' ? textBlocks(part.text) : [imageBlock(part.image_url.url, `${path}.content[${j}].image_url.url`)],
  );
}

function toolInput(args: string, path: string): Record<string, unknown> {
  if (args.trim() === '') return {};
  let parsed: unknown;
  try {
    parsed = JSON.parse(args);
  } catch {
    throw new MappingError(`${path}: not valid JSON`);
  }
  if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed)) throw new MappingError(`${path}: must be a JSON object`);
  return parsed as Record<string, unknown>;
}

function assistantBlocks(msg: AssistantMessage, path: string): AnthropicBlock[] {
  const toolUses = (msg.tool_calls ?? []).map(
    (tc, k): AnthropicBlock => ({
      type: 'tool_use',
      id: portableToolCallId(tc.id),
      name: tc.function.name,
      input: toolInput(tc.function.arguments, `${path}.tool_calls[${k}].function.arguments`),
    }),
  );
  return [...textBlocks(msg.content), ...toolUses];
}

function toTurn(msg: ChatMessage, path: string): AnthropicTurn | undefined {
  switch (msg.role) {
    case 'user':
      return { role: 'user', content: userBlocks(msg.content, path) };
    case 'assistant':
      return { role: 'assistant', content: assistantBlocks(msg, path) };
    case 'tool':
      return { role: 'user', content: [{ type: 'tool_result', tool_use_id: portableToolCallId(msg.tool_call_id), content: contentText(msg.content, '\n') }] };
    default:
      return undefined; // system/developer go to the top-level `system`
  }
}

/** Anthropic wants user/assistant alternation, with tool results first in their user turn. */
export function toAnthropicMessages(messages: ChatMessage[]): AnthropicTurn[] {
  const turns: AnthropicTurn[] = [];
  messages.forEach((msg, i) => {
    const turn = toTurn(msg, `messages[${i}]`);
    if (!turn || turn.content.length === 0) return;
    const last = turns.at(-1);
    if (last?.role === turn.role) last.content.push(...turn.content);
    else turns.push(turn);
  });
  for (const turn of turns) {
    if (turn.role === 'user') {
      turn.content = [...turn.content.filter((b) => b.type === 'tool_result'), ...turn.content.filter((b) => b.type !== 'tool_result')];
    }
  }
  return turns;
}

function systemPrompt(req: ChatRequest): string | undefined {
  const parts = req.messages.flatMap((m) => (m.role === 'system' || m.role === 'developer' ? [contentText(m.content, '\n')] : []));
  // A json_schema answer comes through a forced tool call instead (toTools).
  const json = req.response_format?.type === 'json_object' ? jsonInstruction(req.response_format) : undefined;
  if (json) parts.push(json);
  const nonEmpty = parts.filter((p) => p.length > 0);
  return nonEmpty.length > 0 ? nonEmpty.join('\n\n') : undefined;
}

type JsonSchemaFormat = Extract<NonNullable<ChatRequest['response_format']>, { type: 'json_schema' }>['json_schema'];

function toTools(req: ChatRequest, jsonFormat: JsonSchemaFormat | undefined): AnthropicTool[] | undefined {
  const tools: AnthropicTool[] = (req.tools ?? []).map((t) => ({
    name: t.function.name,
    ...(t.function.description ? { description: t.function.description } : {}),
    input_schema: t.function.parameters ?? { type: 'object', properties: {} },
  }));
  if (jsonFormat) {
    tools.push({
      name: jsonFormat.name,
      description: jsonFormat.description ?? 'Give the final answer as this tool\'s input, following its schema exactly.',
      input_schema: jsonFormat.schema ?? { type: 'object' },
    });
  }
  return tools.length > 0 ? tools : undefined;
}

function toToolChoice(req: ChatRequest, jsonTool: string | undefined): AnthropicToolChoice | undefined {
  // A json_schema answer is the forced call of its synthetic tool, made exactly once.
  if (jsonTool) return { type: 'tool', name: jsonTool, disable_parallel_tool_use: true };
  if (!req.tools?.length) return undefined;
  const noParallel = req.parallel_tool_calls === false ? { disable_parallel_tool_use: true } : {};
  const choice = req.tool_choice;
  if (choice === 'none') return { type: 'none' };
  if (choice === 'required') return { type: 'any', ...noParallel };
  if (typeof choice === 'object') return { type: 'tool', name: choice.function.name, ...noParallel };
  if (choice === 'auto' || req.parallel_tool_calls === false) return { type: 'auto', ...noParallel };
  return undefined;
}

function samplingFields(req: ChatRequest): Partial<AnthropicRequestBody> {
  const out: Partial<AnthropicRequestBody> = {};
  // OpenAI's range is 0..2, Anthropic's 0..1: higher values are clamped to 1 rather than rejected.
  if (req.temperature != null) out.temperature = Math.min(req.temperature, 1);
  // Current models (Sonnet/Haiku 4.5, Opus 4.1+) answer 400 when both are set: temperature wins.
  else if (req.top_p != null) out.top_p = req.top_p;
  const stop = typeof req.stop === 'string' ? [req.stop] : (req.stop ?? []);
  if (stop.length > 0) out.stop_sequences = stop;
  if (req.user) out.metadata = { user_id: req.user };
  return out;
}

/** The unified request as an Anthropic body; fields Anthropic has no use for are dropped. */
export function toAnthropicRequest(req: ChatRequest): MappedRequest {
  const jsonFormat = req.response_format?.type === 'json_schema' ? req.response_format.json_schema : undefined;
  const body: AnthropicRequestBody = {
    model: req.model,
    max_tokens: req.max_completion_tokens ?? req.max_tokens ?? DEFAULT_MAX_TOKENS,
    messages: toAnthropicMessages(req.messages),
    ...samplingFields(req),
  };
  const system = systemPrompt(req);
  if (system) body.system = system;
  const tools = toTools(req, jsonFormat);
  if (tools) body.tools = tools;
  const toolChoice = toToolChoice(req, jsonFormat?.name);
  if (toolChoice) body.tool_choice = toolChoice;
  return { body, jsonTool: jsonFormat?.name };
}

// ---------------------------------------------------------------------------
// Response mapping

/**
 * Anthropic's input_tokens exclude cache reads and writes; OpenAI's prompt_tokens include them. Writes
 * are billed above the input price, so they are reported apart (cache_write_tokens) for pricing.
 */
export function toUsage(u: WireUsage): Usage {
  const cacheRead = tokenCount(u.cache_read_input_tokens);
  const cacheWrite = tokenCount(u.cache_creation_input_tokens);
  const prompt = tokenCount(u.input_tokens) + cacheRead + cacheWrite;
  const completion = tokenCount(u.output_tokens);
  const usage: Usage = { prompt_tokens: prompt, completion_tokens: completion, total_tokens: prompt + completion };
  if (cacheRead > 0 || cacheWrite > 0) {
    usage.prompt_tokens_details = { ...(cacheRead > 0 ? { cached_tokens: cacheRead } : {}), ...(cacheWrite > 0 ? { cache_write_tokens: cacheWrite } : {}) };
  }
  return usage;
}

/** `hasToolCalls` is false when the only tool called was the json_schema carrier. */
export function toFinishReason(stopReason: string | null | undefined, hasToolCalls: boolean): FinishReason {
  switch (stopReason) {
    case 'max_tokens':
    case 'model_context_window_exceeded':
      return 'length';
    case 'tool_use':
      return hasToolCalls ? 'tool_calls' : 'stop';
    case 'refusal':
      return 'content_filter';
    default:
      return 'stop'; // end_turn, stop_sequence, pause_turn
  }
}

interface ResponseContext {
  jsonTool?: string;
  fallbackModel: string;
  created: number;
}

export function fromAnthropicMessage(msg: WireMessage, rc: ResponseContext): ChatResponse {
  const toolUses = msg.content.filter((b) => b.type === 'tool_use');
  const jsonBlock = rc.jsonTool ? toolUses.find((b) => b.name === rc.jsonTool) : undefined;
  const toolCalls: ToolCall[] = toolUses
    .filter((b) => b !== jsonBlock)
    .map((b, i) => ({ id: b.id ?? `toolu_${i}`, type: 'function', function: { name: b.name ?? '', arguments: JSON.stringify(b.input ?? {}) } }));
  const text = msg.content.filter((b) => b.type === 'text').map((b) => b.text ?? '').join('');
  const content = jsonBlock ? JSON.stringify(jsonBlock.input ?? {}) : text || (toolCalls.length > 0 ? null : '');
  const response: ChatResponse = {
    id: msg.id,
    object: 'chat.completion',
    created: rc.created,
    model: msg.model ?? rc.fallbackModel,
    choices: [
      {
        index: 0,
        message: { role: 'assistant', content, refusal: null, ...(toolCalls.length > 0 ? { tool_calls: toolCalls } : {}) },
        finish_reason: toFinishReason(msg.stop_reason, toolCalls.length > 0),
        logprobs: null,
      },
    ],
  };
  if (msg.usage) response.usage = toUsage(msg.usage);
  return response;
}

// ---------------------------------------------------------------------------
// Stream state machine

type BlockRole = { kind: 'text' } | { kind: 'tool'; toolIndex: number } | { kind: 'json' } | { kind: 'other' };
type ChunkDelta = ChatChunk['choices'][number]['delta'];

/** Cumulative counts from message_delta replace those of message_start. */
function mergeUsage(base: WireUsage, next: WireUsage | null | undefined): WireUsage {
  const merged: WireUsage = { ...base };
  for (const [key, value] of Object.entries(next ?? {})) if (typeof value === 'number') merged[key] = value;
  return merged;
}

/** Turns Anthropic stream events into OpenAI chunks, one event at a time. */
export class AnthropicStreamTranslator {
  /** message_stop was seen: the answer is complete. */
  finished = false;
  /** Content or tool-call deltas reached the caller. */
  delivered = false;
  private id = 'msg_stream';
  private model: string;
  private usage: WireUsage = {};
  private stopReason: string | null | undefined;
  private readonly blocks = new Map<number, BlockRole>();
  private toolCount = 0;

  constructor(
    private readonly provider: string,
    fallbackModel: string,
    private readonly created: number,
    private readonly jsonTool?: string,
  ) {
    this.model = fallbackModel;
  }

  translate(event: { event?: string; data: string }): ChatChunk[] {
    const data = parseEventJson(event.data, this.provider, this.delivered);
    const type = typeof data.type === 'string' ? data.type : event.event;
    switch (type) {
      case 'message_start':
        return this.onMessageStart(parseWire(WireEvents.message_start, data, this.provider, 'message_start event'));
      case 'content_block_start':
        return this.onBlockStart(parseWire(WireEvents.content_block_start, data, this.provider, 'content_block_start event'));
      case 'content_block_delta':
        return this.onBlockDelta(parseWire(WireEvents.content_block_delta, data, this.provider, 'content_block_delta event'));
      case 'message_delta':
        return this.onMessageDelta(parseWire(WireEvents.message_delta, data, this.provider, 'message_delta event'));
      case 'message_stop':
        return this.onMessageStop();
      case 'error':
        throw this.streamError(data, event.data);
      default:
        return []; // ping, content_block_stop, and event types added later
    }
  }

  private onMessageStart(ev: z.infer<typeof WireEvents.message_start>): ChatChunk[] {
    this.id = ev.message.id;
    this.model = ev.message.model ?? this.model;
    this.usage = mergeUsage({}, ev.message.usage);
    return [this.chunk({ role: 'assistant', content: '' })];
  }

  private onBlockStart(ev: z.infer<typeof WireEvents.content_block_start>): ChatChunk[] {
    const block = ev.content_block;
    if (block.type === 'text') {
      this.blocks.set(ev.index, { kind: 'text' });
      return block.text ? [this.content(block.text)] : [];
    }
    if (block.type !== 'tool_use') {
      this.blocks.set(ev.index, { kind: 'other' }); // thinking, server tools: nothing to forward
      return [];
    }
    if (this.jsonTool !== undefined && block.name === this.jsonTool) {
      this.blocks.set(ev.index, { kind: 'json' });
      return [];
    }
    const toolIndex = this.toolCount++;
    this.blocks.set(ev.index, { kind: 'tool', toolIndex });
    this.delivered = true;
    const call = { index: toolIndex, id: block.id ?? `toolu_${toolIndex}`, type: 'function' as const, function: { name: block.name ?? '', arguments: '' } };
    return [this.chunk({ tool_calls: [call] })];
  }

  private onBlockDelta(ev: z.infer<typeof WireEvents.content_block_delta>): ChatChunk[] {
    const role = this.blocks.get(ev.index);
    const { delta } = ev;
    if (delta.type === 'text_delta' && role?.kind === 'text' && delta.text) return [this.content(delta.text)];
    if (delta.type !== 'input_json_delta' || !delta.partial_json) return []; // thinking/signature/citations deltas
    if (role?.kind === 'json') return [this.content(delta.partial_json)];
    if (role?.kind !== 'tool') return [];
    this.delivered = true;
    return [this.chunk({ tool_calls: [{ index: role.toolIndex, function: { arguments: delta.partial_json } }] })];
  }

  private onMessageDelta(ev: z.infer<typeof WireEvents.message_delta>): ChatChunk[] {
    this.stopReason = ev.delta.stop_reason ?? this.stopReason;
    this.usage = mergeUsage(this.usage, ev.usage);
    return [];
  }

  private onMessageStop(): ChatChunk[] {
    this.finished = true;
    const finish = this.chunk({}, toFinishReason(this.stopReason, this.toolCount > 0));
    const usage: ChatChunk = { ...this.chunk({}), choices: [], usage: toUsage(this.usage) };
    return [finish, usage];
  }

  private streamError(data: unknown, raw: string): ProviderError {
    const details = readAnthropicError(200, data, raw);
    return providerErrorFrom({ ...details, message: `stream error: ${details.message}` }, this.provider, 'upstream_error', { partial: this.delivered });
  }

  private content(text: string): ChatChunk {
    this.delivered = true;
    return this.chunk({ content: text });
  }

  private chunk(delta: ChunkDelta, finish: FinishReason | null = null): ChatChunk {
    return {
      id: this.id,
      object: 'chat.completion.chunk',
      created: this.created,
      model: this.model,
      choices: [{ index: 0, delta, finish_reason: finish, logprobs: null }],
    };
  }
}

// ---------------------------------------------------------------------------
// Adapter

export interface AnthropicAdapterOptions {
  /** Clock for the `created` timestamps (ms since epoch). */
  now?: () => number;
}

export class AnthropicAdapter implements ProviderAdapter {
  private readonly now: () => number;

  constructor(
    readonly name: string = 'anthropic',
    options: AnthropicAdapterOptions = {},
  ) {
    this.now = options.now ?? Date.now;
  }

  private headers(creds: ProviderCredentials, extra: Record<string, string> = {}): Record<string, string> {
    return {
      ...(creds.apiKey ? { 'x-api-key': creds.apiKey } : {}),
      'anthropic-version': ANTHROPIC_VERSION,
      ...extra,
      ...creds.headers,
    };
  }

  private mapRequest(req: ChatRequest): MappedRequest {
    try {
      return toAnthropicRequest(req);
    } catch (err) {
      if (err instanceof MappingError) throw new ProviderError({ kind: 'bad_request', provider: this.name, message: err.message });
      throw err;
    }
  }

  private post(body: AnthropicRequestBody, ctx: CallContext, extraHeaders?: Record<string, string>): Promise<UpstreamCall> {
    return sendUpstream({
      provider: this.name,
      url: joinUrl(ctx.credentials.baseUrl, '/v1/messages'),
      headers: this.headers(ctx.credentials, extraHeaders),
      body,
      ctx,
      readError: readAnthropicError,
    });
  }

  private created(): number {
    return Math.floor(this.now() / 1000);
  }

  async complete(req: ChatRequest, ctx: CallContext): Promise<ChatResponse> {
    const { body, jsonTool } = this.mapRequest(req);
    const call = await this.post(body, ctx);
    const raw = await call.json();
    if ((raw as { type?: unknown } | null)?.type === 'error') {
      throw providerErrorFrom(readAnthropicError(200, raw, ''), this.name, 'upstream_error');
    }
    const msg = parseWire(WireMessageSchema, raw, this.name, 'message body');
    return fromAnthropicMessage(msg, { jsonTool, fallbackModel: req.model, created: this.created() });
  }

  async *stream(req: ChatRequest, ctx: CallContext): AsyncIterable<ChatChunk> {
    const { body, jsonTool } = this.mapRequest(req);
    const call = await this.post({ ...body, stream: true }, ctx, { accept: 'text/event-stream' });
    const translator = new AnthropicStreamTranslator(this.name, req.model, this.created(), jsonTool);
    try {
      for await (const event of call.events()) {
        for (const chunk of translator.translate(event)) yield chunk;
        if (translator.finished) break;
      }
    } finally {
      call.cancel();
    }
    if (!translator.finished) {
      throw new ProviderError({
        kind: 'upstream_error',
        provider: this.name,
        message: 'stream ended before message_stop: the answer may be truncated',
        partial: translator.delivered,
      });
    }
  }

  async listModels(ctx: CallContext): Promise<ListedModel[]> {
    const models: ListedModel[] = [];
    let afterId: string | undefined;
    for (let page = 0; page < MAX_MODEL_PAGES; page++) {
      const query = new URLSearchParams({ limit: '1000', ...(afterId ? { after_id: afterId } : {}) });
      const call = await sendUpstream({
        provider: this.name,
        method: 'GET',
        url: joinUrl(ctx.credentials.baseUrl, `/v1/models?${query.toString()}`),
        headers: this.headers(ctx.credentials),
        ctx,
        readError: readAnthropicError,
      });
      const list = parseWire(WireModelListSchema, await call.json(), this.name, 'model list');
      models.push(...list.data.map((m) => ({ id: m.id, ownedBy: 'anthropic' })));
      if (!list.has_more || !list.last_id) break;
      afterId = list.last_id;
    }
    return models;
  }
}
