import { z } from 'zod';
import type { CallContext, ListedModel, ProviderAdapter, ProviderCredentials } from '../core/adapter';
import { ProviderError } from '../core/errors';
import { classifyStatus, joinUrl, providerErrorFrom, sendUpstream, type ErrorDetails } from '../core/http';
import {
  FunctionCallSchema,
  MessageAudioSchema,
  MetadataSchema,
  ServiceTierSchema,
  UrlCitationSchema,
  type ChatChunk,
  type ChatMessage,
  type ChatRequest,
  type ChatResponse,
  type FinishReason,
  type Usage,
} from '../core/schema';
import { withWireText } from '../core/wire-text';
import { contentDeltaChunk } from './openai-content-delta';
import { eventChunks, STREAM_END, type EventToChunk } from './event-chunks';
import { contentText, hashedId, jsonInstruction, parseEventJson, portableToolCallId, tokenCount } from './wire';

/**
 * How one OpenAI-shaped API deviates from OpenAI's own. The OpenAI adapter is the
 * whole OpenAI-compatible family; presets (openai-compatible.ts) only describe quirks.
 */
export interface OpenAIDialect {
  /** Where the output-token limit goes: OpenAI takes max_completion_tokens, most others max_tokens. */
  maxTokensField: 'max_completion_tokens' | 'max_tokens';
  /** Accepts `stream_options: { include_usage: true }`. */
  streamUsage: boolean;
  /** Request fields renamed on the wire, e.g. Mistral's `random_seed`. */
  renameFields?: Record<string, string>;
  /** Request fields the API rejects. */
  dropFields?: string[];
  /** The API's word for tool_choice "required" (Mistral says "any"). */
  toolChoiceRequired?: string;
  /** Accepts the `developer` role; the others (Mistral, vLLM chat templates...) get it as `system`. */
  developerRole?: boolean;
  /** Rewrites tool-call ids on the way up, e.g. Mistral's 9-character ids; ids in answers are kept. */
  toolCallId?: (id: string) => string;
  /**
   * `message.reasoning_content` (DeepSeek's chain of thought): 'relay' keeps it on answers and sends
   * it back in history (DeepSeek requires it after tool calls); 'drop' removes it from history for APIs
   * that reject unknown message fields; unset passes history through untouched.
   */
  reasoningContent?: 'relay' | 'drop';
  /**
   * 'as_json_object': json_schema is sent as json_object with the schema in the system prompt, for APIs
   * that support only text and json_object (DeepSeek).
   */
  jsonSchema?: 'as_json_object';
  /** Removes `name` from non-tool messages, for APIs that reject it (Groq). */
  dropMessageName?: boolean;
  /** The message fields the API accepts, per role; others are removed (Mistral: 422 extra_forbidden). */
  messageFields?: Partial<Record<ChatMessage['role'], readonly string[]>>;
}

export const OPENAI_DIALECT: OpenAIDialect = {
  maxTokensField: 'max_completion_tokens',
  streamUsage: true,
  developerRole: true,
  toolCallId: portableToolCallId,
  reasoningContent: 'drop',
};

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null;

const FINISH_REASONS: ReadonlySet<string> = new Set(['stop', 'length', 'tool_calls', 'content_filter', 'function_call']);

export function normalizeFinishReason(reason: unknown): FinishReason {
  if (typeof reason === 'string' && FINISH_REASONS.has(reason)) return reason as FinishReason;
  if (reason === 'model_length') return 'length';
  if (reason === 'tool_call') return 'tool_calls';
  return 'stop';
}

const PROMPT_DETAILS = ['cached_tokens', 'audio_tokens', 'text_tokens', 'image_tokens', 'cache_write_tokens'] as const;
const COMPLETION_DETAILS = ['reasoning_tokens', 'audio_tokens', 'text_tokens', 'accepted_prediction_tokens', 'rejected_prediction_tokens'] as const;

/** The documented counts of a `*_tokens_details` object, when the upstream sent one. */
function tokenDetails<K extends string>(raw: unknown, keys: readonly K[]): Partial<Record<K, number>> | undefined {
  if (!isObject(raw)) return undefined;
  const details: Partial<Record<K, number>> = {};
  for (const key of keys) if (typeof raw[key] === 'number') details[key] = tokenCount(raw[key]);
  return details;
}

export function normalizeUsage(raw: unknown): Usage | undefined {
  if (!isObject(raw)) return undefined;
  const prompt = tokenCount(raw.prompt_tokens);
  const completion = tokenCount(raw.completion_tokens);
  const usage: Usage = { prompt_tokens: prompt, completion_tokens: completion, total_tokens: tokenCount(raw.total_tokens) || prompt + completion };
  const promptDetails = tokenDetails(raw.prompt_tokens_details, PROMPT_DETAILS);
  // DeepSeek reports cache hits as prompt_cache_hit_tokens (its kv_cache guide), not OpenAI's cached_tokens.
  if (promptDetails?.cached_tokens === undefined && typeof raw.prompt_cache_hit_tokens === 'number') {
    usage.prompt_tokens_details = { ...promptDetails, cached_tokens: tokenCount(raw.prompt_cache_hit_tokens) };
  } else if (promptDetails) usage.prompt_tokens_details = promptDetails;
  const completionDetails = tokenDetails(raw.completion_tokens_details, COMPLETION_DETAILS);
  if (completionDetails) usage.completion_tokens_details = completionDetails;
  return usage;
}

/** Each field read on its own: one malformed field does not hide the others. */
const ErrorObjectSchema = z.looseObject({
  message: z.string().optional().catch(undefined),
  code: z.union([z.string(), z.number()]).optional().catch(undefined),
  type: z.string().optional().catch(undefined),
  param: z.string().optional().catch(undefined),
  metadata: z.looseObject({ reasons: z.array(z.unknown()).optional(), flagged_input: z.unknown().optional() }).optional().catch(undefined),
});

/** OpenRouter's 403 for input its moderation flagged: `error.metadata` says why. */
function isModerationBlock(status: number, err: z.infer<typeof ErrorObjectSchema>): boolean {
  return status === 403 && (err.metadata?.reasons !== undefined || err.metadata?.flagged_input !== undefined);
}

/**
 * OpenAI-style error bodies: `{"error":{"message","type","param","code"}}` (some servers send a bare
 * string; OpenRouter's code is the HTTP status as a number, with `metadata` on moderation blocks).
 */
export function readOpenAIError(status: number, body: unknown, raw: string): ErrorDetails {
  const errField = (body as { error?: unknown } | undefined)?.error;
  if (typeof errField === 'string') return { message: errField };
  const parsed = ErrorObjectSchema.safeParse(errField ?? body ?? {});
  const e = parsed.success ? parsed.data : {};
  const message = e.message ?? (raw.slice(0, 300) || `HTTP ${status}`);
  const code = typeof e.code === 'string' ? e.code : e.type;
  const param = e.param ? { param: e.param } : {};
  // 402 (OpenRouter: insufficient credits, DeepSeek: Insufficient Balance) will not clear by retrying.
  if (status === 402) return { message: `the provider account is out of credit: ${message}`, code, kind: 'rate_limited', retryable: false };
  if (isModerationBlock(status, e)) return { message, code, kind: 'content_filter' };
  if (code === 'context_length_exceeded') return { message, code, kind: 'context_length_exceeded', ...param };
  if (code === 'string_above_max_length') return { message, code, kind: isMessageContent(e.param) ? 'context_length_exceeded' : 'bad_request', ...param };
  if (code === 'insufficient_quota') return { message, code, kind: 'rate_limited', retryable: false };
  if (code === 'content_filter' || code === 'content_policy_violation') return { message, code, kind: 'content_filter', ...param };
  return { message, code, ...param };
}

/** OpenAI's string_above_max_length means a prompt too long only when the string is message content (not, say, a tool-call id). */
function isMessageContent(param: string | undefined): boolean {
  return param === 'messages' || (param?.endsWith('.content') ?? false);
}

/** The HTTP status an error object carries as its numeric code (OpenRouter), if any. */
function statusOf(err: unknown): number | undefined {
  const code = isObject(err) ? err.code : undefined;
  return typeof code === 'number' && code >= 400 && code <= 599 ? code : undefined;
}

/** An error object an upstream sent inside a 200 response, a stream, or a choice (`choices[].error`). */
function errorInBody(body: Record<string, unknown>, raw: string, provider: string): ProviderError {
  const status = statusOf(body.error);
  const details = readOpenAIError(status ?? 200, body, raw);
  return providerErrorFrom(details, provider, status ? classifyStatus(status, details.message) : 'upstream_error', status ? { status } : {});
}

/**
 * A choice that ended in failure rather than an answer: finish_reason "error" (Mistral, OpenRouter,
 * with `choices[].error` on OpenRouter) or DeepSeek's "insufficient_system_resource" (the answer was
 * cut because DeepSeek ran out of capacity). Thrown, so a cut answer never looks complete.
 */
function choiceFailure(choice: unknown, provider: string): ProviderError | undefined {
  if (!isObject(choice)) return undefined;
  if (isObject(choice.error)) return errorInBody({ error: choice.error }, '', provider);
  if (choice.finish_reason === 'error') {
    return new ProviderError({ kind: 'upstream_error', provider, upstreamCode: 'error', message: 'upstream ended the answer with finish_reason "error"' });
  }
  if (choice.finish_reason === 'insufficient_system_resource') {
    return new ProviderError({
      kind: 'overloaded',
      provider,
      upstreamCode: 'insufficient_system_resource',
      message: 'upstream cut the answer short: not enough inference capacity (finish_reason "insufficient_system_resource")',
    });
  }
  return undefined;
}

/** Throws the first failed choice of a response or chunk. */
function throwChoiceFailure(raw: Record<string, unknown>, provider: string): void {
  if (!Array.isArray(raw.choices)) return;
  for (const choice of raw.choices) {
    const failure = choiceFailure(choice, provider);
    if (failure) throw failure;
  }
}

function normalizeToolCalls(raw: unknown): ChatResponse['choices'][number]['message']['tool_calls'] {
  if (!Array.isArray(raw) || raw.length === 0) return undefined;
  return raw.map((tc: { id?: string; function?: { name?: string; arguments?: unknown } }, i) => ({
    id: tc.id ?? `call_${i}`,
    type: 'function' as const,
    function: {
      name: tc.function?.name ?? '',
      arguments: typeof tc.function?.arguments === 'string' ? tc.function.arguments : JSON.stringify(tc.function?.arguments ?? {}),
    },
  }));
}

/** The choice's log probabilities when the upstream sent them (the request asked with `logprobs: true`). */
function logprobsOf(raw: unknown): ChatResponse['choices'][number]['logprobs'] {
  return typeof raw === 'object' && raw !== null && !Array.isArray(raw) ? (raw as ChatResponse['choices'][number]['logprobs']) : null;
}

/** `value` when it is valid as documented, else undefined: a malformed extra field is dropped, not relayed. */
function documented<S extends z.ZodType>(schema: S, value: unknown): z.infer<S> | undefined {
  if (value === undefined) return undefined;
  const result = schema.safeParse(value);
  return result.success ? result.data : undefined;
}

const SERVICE_TIERS: ReadonlySet<string> = new Set(ServiceTierSchema.options);
const AnnotationsSchema = z.array(UrlCitationSchema);
const ResponseServiceTierSchema = ServiceTierSchema.nullable();
const ResponseMetadataSchema = MetadataSchema.nullable();
const AudioSchema = MessageAudioSchema.nullable();

/** The text of a chunk list: its `{type:"text", text}` chunks joined. */
function chunkText(chunks: unknown[]): string {
  return chunks.map((c) => (isObject(c) && c.type === 'text' && typeof c.text === 'string' ? c.text : '')).join('');
}

/**
 * Message content as text plus its chain of thought. Mistral's reasoning models answer with a chunk list,
 * `{type:"text", text}` and `{type:"thinking", thinking:[text chunks...]}`, instead of a string.
 */
function splitContent(content: unknown): { text: string | null; thinking?: string } {
  if (typeof content === 'string') return { text: content };
  if (!Array.isArray(content)) return { text: null };
  const hasText = content.some((c) => isObject(c) && c.type === 'text');
  const thinking = content.map((c) => (isObject(c) && c.type === 'thinking' && Array.isArray(c.thinking) ? chunkText(c.thinking) : '')).join('');
  return { text: hasText ? chunkText(content) : null, ...(thinking ? { thinking } : {}) };
}

/** DeepSeek's documented extension: the chain of thought beside `content`. */
type ResponseMessage = ChatResponse['choices'][number]['message'] & { reasoning_content?: string };

/** The documented message fields beyond content and tool calls, when the upstream sent them. */
function messageExtras(msg: Record<string, unknown>, dialect: OpenAIDialect): Partial<ResponseMessage> {
  const extras: Partial<ResponseMessage> = {};
  if (dialect.reasoningContent === 'relay' && typeof msg.reasoning_content === 'string') extras.reasoning_content = msg.reasoning_content;
  const annotations = documented(AnnotationsSchema, msg.annotations);
  if (annotations) extras.annotations = annotations;
  const audio = documented(AudioSchema, msg.audio);
  if (audio !== undefined) extras.audio = audio;
  const functionCall = documented(FunctionCallSchema, msg.function_call);
  if (functionCall) extras.function_call = functionCall;
  return extras;
}

/** Top-level documented fields kept as the upstream sent them (when valid). */
function responseExtras(raw: Record<string, unknown>): Partial<ChatResponse> {
  const extras: Partial<ChatResponse> = {};
  if (typeof raw.system_fingerprint === 'string') extras.system_fingerprint = raw.system_fingerprint;
  const tier = documented(ResponseServiceTierSchema, raw.service_tier);
  if (tier !== undefined) extras.service_tier = tier;
  const metadata = documented(ResponseMetadataSchema, raw.metadata);
  if (metadata !== undefined) extras.metadata = metadata;
  return extras;
}

export function normalizeResponse(raw: Record<string, unknown>, fallbackModel: string, dialect: OpenAIDialect = OPENAI_DIALECT): ChatResponse {
  const choices = Array.isArray(raw.choices) ? raw.choices : [];
  const response: ChatResponse = {
    id: typeof raw.id === 'string' ? raw.id : `chatcmpl-${Date.now().toString(36)}`,
    object: 'chat.completion',
    created: typeof raw.created === 'number' ? raw.created : Math.floor(Date.now() / 1000),
    model: typeof raw.model === 'string' ? raw.model : fallbackModel,
    choices: choices.map((c: Record<string, unknown>, i: number) => {
      const msg = (c.message ?? {}) as Record<string, unknown>;
      const toolCalls = normalizeToolCalls(msg.tool_calls);
      const { text, thinking } = splitContent(msg.content);
      return {
        index: typeof c.index === 'number' ? c.index : i,
        message: {
          role: 'assistant' as const,
          content: text,
          refusal: typeof msg.refusal === 'string' ? msg.refusal : null,
          ...(toolCalls ? { tool_calls: toolCalls } : {}),
          ...messageExtras(msg, dialect),
          ...(thinking ? { reasoning_content: thinking } : {}),
        },
        finish_reason: toolCalls && c.finish_reason === 'stop' ? 'tool_calls' : normalizeFinishReason(c.finish_reason),
        logprobs: logprobsOf(c.logprobs),
      };
    }),
    ...responseExtras(raw),
  };
  const usage = normalizeUsage(raw.usage);
  if (usage) response.usage = usage;
  return response;
}

function isCanonicalChoice(c: unknown): boolean {
  if (!isObject(c) || typeof c.index !== 'number' || !isObject(c.delta)) return false;
  const d = c.delta;
  return (
    (d.role === undefined || d.role === 'assistant') &&
    (d.content == null || typeof d.content === 'string') &&
    (d.refusal == null || typeof d.refusal === 'string') &&
    (d.tool_calls === undefined || Array.isArray(d.tool_calls)) &&
    (c.finish_reason === null || FINISH_REASONS.has(c.finish_reason as string))
  );
}

/**
 * An event that is already a content chunk in OpenAI's shape, which normalizeChunk would only
 * copy: it is relayed as the upstream sent it (fields the gateway does not model, such as
 * logprobs, included). Usage chunks are always normalised: cost accounting reads them.
 */
export function isCanonicalChunk(raw: Record<string, unknown>): boolean {
  if (typeof raw.id !== 'string' || raw.object !== 'chat.completion.chunk' || typeof raw.created !== 'number' || typeof raw.model !== 'string') return false;
  if (raw.usage != null || raw.x_groq !== undefined || (raw.system_fingerprint !== undefined && typeof raw.system_fingerprint !== 'string')) return false;
  // e.g. Groq's "on_demand": normalizeChunk leaves out a tier OpenAI does not document.
  if (raw.service_tier != null && !SERVICE_TIERS.has(raw.service_tier as string)) return false;
  const choices = raw.choices;
  return Array.isArray(choices) && choices.length > 0 && choices.every(isCanonicalChoice);
}

/**
 * Notes the choices that streamed tool calls; true when this chunk finishes one of them with "stop"
 * (some servers, and OpenAI for a named tool_choice), which non-streaming answers report as "tool_calls".
 */
function stopsAfterToolCalls(raw: Record<string, unknown>, withToolCalls: Set<number>): boolean {
  if (!Array.isArray(raw.choices)) return false;
  let stops = false;
  for (const c of raw.choices as Array<{ index?: unknown; delta?: { tool_calls?: unknown }; finish_reason?: unknown }>) {
    const index = typeof c.index === 'number' ? c.index : 0;
    if (Array.isArray(c.delta?.tool_calls) && c.delta.tool_calls.length > 0) withToolCalls.add(index);
    if (c.finish_reason === 'stop' && withToolCalls.has(index)) stops = true;
  }
  return stops;
}

function toolCallsFinish(chunk: ChatChunk, withToolCalls: Set<number>): ChatChunk {
  for (const c of chunk.choices) if (c.finish_reason === 'stop' && withToolCalls.has(c.index)) c.finish_reason = 'tool_calls';
  return chunk;
}

export function normalizeChunk(raw: Record<string, unknown>, fallbackModel: string, dialect: OpenAIDialect = OPENAI_DIALECT): ChatChunk {
  const choices = Array.isArray(raw.choices) ? raw.choices : [];
  const chunk: ChatChunk = {
    id: typeof raw.id === 'string' ? raw.id : 'chatcmpl-stream',
    object: 'chat.completion.chunk',
    created: typeof raw.created === 'number' ? raw.created : Math.floor(Date.now() / 1000),
    model: typeof raw.model === 'string' ? raw.model : fallbackModel,
    choices: choices.map((c: Record<string, unknown>, i: number) => {
      const d = (c.delta ?? {}) as Record<string, unknown>;
      const delta: ChatChunk['choices'][number]['delta'] = {};
      if (d.role === 'assistant') delta.role = 'assistant';
      const { text, thinking } = splitContent(d.content);
      if (text !== null) delta.content = text;
      if (thinking) (delta as { reasoning_content?: string }).reasoning_content = thinking;
      if (typeof d.refusal === 'string') delta.refusal = d.refusal;
      if (Array.isArray(d.tool_calls)) delta.tool_calls = d.tool_calls as ChatChunk['choices'][number]['delta']['tool_calls'];
      if (dialect.reasoningContent === 'relay' && typeof d.reasoning_content === 'string') {
        (delta as { reasoning_content?: string }).reasoning_content = d.reasoning_content;
      }
      return {
        index: typeof c.index === 'number' ? c.index : i,
        delta,
        finish_reason: c.finish_reason == null ? null : normalizeFinishReason(c.finish_reason),
        logprobs: logprobsOf(c.logprobs),
      };
    }),
  };
  if (typeof raw.system_fingerprint === 'string') chunk.system_fingerprint = raw.system_fingerprint;
  const tier = documented(ResponseServiceTierSchema, raw.service_tier);
  if (tier !== undefined) chunk.service_tier = tier;
  // Groq reports stream usage in x_groq.usage rather than `usage`.
  const usage = normalizeUsage(raw.usage ?? (raw.x_groq as { usage?: unknown } | undefined)?.usage);
  if (usage) chunk.usage = usage;
  return chunk;
}

const MISTRAL_TOOL_CALL_ID = /^[a-zA-Z0-9]{9}$/;

/**
 * Mistral rejects tool-call ids that are not exactly 9 letters or digits; ids from other providers
 * (call_…, toolu_…) become a hash of themselves, so a call and its tool message still match.
 */
export function mistralToolCallId(id: string): string {
  return MISTRAL_TOOL_CALL_ID.test(id) ? id : hashedId(id, 9);
}

type AssistantMessage = Extract<ChatMessage, { role: 'assistant' }>;

function dialectAssistant(msg: AssistantMessage, dialect: OpenAIDialect): AssistantMessage {
  const toolCallId = dialect.toolCallId;
  let out = msg;
  if (toolCallId && msg.tool_calls) out = { ...out, tool_calls: msg.tool_calls.map((tc) => ({ ...tc, id: toolCallId(tc.id) })) };
  if (dialect.reasoningContent === 'drop' && 'reasoning_content' in out) {
    const { reasoning_content: _dropped, ...rest } = out;
    out = rest as AssistantMessage;
  }
  return out;
}

/** Roles, tool-call ids and reasoning history as the dialect accepts them. */
function dialectRoleAndIds(msg: ChatMessage, dialect: OpenAIDialect): ChatMessage {
  if (msg.role === 'developer' && !dialect.developerRole) return { ...msg, role: 'system' };
  if (msg.role === 'assistant') return dialectAssistant(msg, dialect);
  if (msg.role === 'tool' && dialect.toolCallId) return { ...msg, tool_call_id: dialect.toolCallId(msg.tool_call_id) };
  return msg;
}

/** Messages as the dialect accepts them: also without the fields it rejects. */
function dialectMessage(msg: ChatMessage, dialect: OpenAIDialect): ChatMessage {
  let out = dialectRoleAndIds(msg, dialect);
  if (dialect.dropMessageName && out.role !== 'tool' && 'name' in out) {
    const { name: _dropped, ...rest } = out;
    out = rest as ChatMessage;
  }
  const allowed = dialect.messageFields?.[out.role];
  if (allowed) out = Object.fromEntries(Object.entries(out).filter(([key]) => allowed.includes(key))) as ChatMessage;
  return out;
}

/** The JSON instruction (schema included) added to the leading system message, or as a new one. */
function withJsonInstruction(messages: ChatMessage[], instruction: string): ChatMessage[] {
  const [first, ...rest] = messages;
  if (first?.role !== 'system') return [{ role: 'system', content: instruction }, ...messages];
  const prompt = contentText(first.content, '\n');
  return [{ ...first, content: prompt ? `${prompt}\n\n${instruction}` : instruction }, ...rest];
}

function applyDialect(req: ChatRequest, dialect: OpenAIDialect): Record<string, unknown> {
  const messages = req.messages.map((m) => dialectMessage(m, dialect));
  const body: Record<string, unknown> = { ...req, messages };
  const schemaAsObject = dialect.jsonSchema === 'as_json_object' && req.response_format?.type === 'json_schema';
  const instruction = schemaAsObject ? jsonInstruction(req.response_format) : undefined;
  if (instruction) {
    body.messages = withJsonInstruction(messages, instruction);
    body.response_format = { type: 'json_object' };
  }
  const limit = req.max_completion_tokens ?? req.max_tokens;
  delete body.max_completion_tokens;
  delete body.max_tokens;
  if (limit != null) body[dialect.maxTokensField] = limit;
  if (dialect.toolChoiceRequired && body.tool_choice === 'required') body.tool_choice = dialect.toolChoiceRequired;
  for (const [from, to] of Object.entries(dialect.renameFields ?? {})) {
    if (from in body) {
      body[to] = body[from];
      delete body[from];
    }
  }
  for (const field of dialect.dropFields ?? []) delete body[field];
  return body;
}

export class OpenAIAdapter implements ProviderAdapter {
  constructor(
    readonly name: string = 'openai',
    private readonly dialect: OpenAIDialect = OPENAI_DIALECT,
  ) {}

  private headers(creds: ProviderCredentials): Record<string, string> {
    return { ...(creds.apiKey ? { authorization: `Bearer ${creds.apiKey}` } : {}), ...creds.headers };
  }

  async complete(req: ChatRequest, ctx: CallContext): Promise<ChatResponse> {
    const body: Record<string, unknown> = { ...applyDialect(req, this.dialect), stream: false };
    delete body.stream_options;
    const call = await sendUpstream({
      provider: this.name,
      url: joinUrl(ctx.credentials.baseUrl, '/chat/completions'),
      headers: this.headers(ctx.credentials),
      body,
      ctx,
      readError: readOpenAIError,
    });
    const raw = (await call.json()) as Record<string, unknown>;
    if (raw.error) throw errorInBody(raw, '', this.name);
    throwChoiceFailure(raw, this.name);
    return normalizeResponse(raw, req.model, this.dialect);
  }

  stream(req: ChatRequest, ctx: CallContext): AsyncIterable<ChatChunk> {
    const open = async () => {
      const body: Record<string, unknown> = { ...applyDialect(req, this.dialect), stream: true };
      if (this.dialect.streamUsage) body.stream_options = { include_usage: true };
      else delete body.stream_options;
      return sendUpstream({
        provider: this.name,
        url: joinUrl(ctx.credentials.baseUrl, '/chat/completions'),
        headers: { accept: 'text/event-stream', ...this.headers(ctx.credentials) },
        body,
        ctx,
        readError: readOpenAIError,
      });
    };
    return eventChunks(open, this.eventReader(req.model), this.name, '[DONE]');
  }

  /** One stream's events as chunks: content deltas relayed as sent, the rest checked and normalised. */
  private eventReader(requestedModel: string): EventToChunk {
    const choicesWithToolCalls = new Set<number>();
    return (event) => {
      if (event.data === '[DONE]') return STREAM_END;
      const delta = contentDeltaChunk(event.data, SERVICE_TIERS);
      if (delta) return withWireText(delta, event.data);
      const data = parseEventJson(event.data, this.name);
      if (data.error) throw errorInBody(data, event.data, this.name);
      throwChoiceFailure(data, this.name);
      if (stopsAfterToolCalls(data, choicesWithToolCalls)) return toolCallsFinish(normalizeChunk(data, requestedModel, this.dialect), choicesWithToolCalls);
      return isCanonicalChunk(data) ? withWireText(data as ChatChunk, event.data) : normalizeChunk(data, requestedModel, this.dialect);
    };
  }

  async listModels(ctx: CallContext): Promise<ListedModel[]> {
    const call = await sendUpstream({
      provider: this.name,
      method: 'GET',
      url: joinUrl(ctx.credentials.baseUrl, '/models'),
      headers: this.headers(ctx.credentials),
      ctx,
      readError: readOpenAIError,
    });
    const raw = (await call.json()) as { data?: Array<{ id?: string; owned_by?: string }> };
    return (raw.data ?? []).filter((m) => typeof m.id === 'string').map((m) => ({ id: m.id as string, ownedBy: m.owned_by }));
  }
}
