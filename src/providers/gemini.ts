import { randomBytes, randomUUID } from 'node:crypto';
import { z } from 'zod';
import type { CallContext, ListedModel, ProviderAdapter, ProviderCredentials } from '../core/adapter';
import { ProviderError, type ErrorKind } from '../core/errors';
import { providerErrorFrom, sendUpstream, type ErrorDetails, type UpstreamCall } from '../core/http';
import { parseGoDuration } from '../core/retry-after';
import type { ChatChunk, ChatMessage, ChatRequest, ChatResponse, FinishReason, ToolCall, Usage } from '../core/schema';
import { contentText, parseEventJson, parseWire, textSegments, tokenCount } from './wire';

/**
 * Google Gemini API (generativelanguage.googleapis.com, v1beta): `generateContent` and
 * `streamGenerateContent?alt=sse`, mapped to and from the unified OpenAI-shaped API.
 * The API key travels only in the `x-goog-api-key` header, never in the URL.
 */

// ---------------------------------------------------------------------------------------------
// Wire shapes we read from Gemini (loose: unknown fields are ignored)

const PartSchema = z.looseObject({
  text: z.string().optional(),
  thought: z.boolean().optional(),
  thoughtSignature: z.string().optional(),
  functionCall: z
    .looseObject({ id: z.string().optional(), name: z.string(), args: z.record(z.string(), z.unknown()).nullish() })
    .optional(),
});

const CandidateSchema = z.looseObject({
  content: z.looseObject({ role: z.string().optional(), parts: z.array(PartSchema).optional() }).optional(),
  finishReason: z.string().optional(),
  finishMessage: z.string().optional(),
  index: z.number().optional(),
});

const UsageMetadataSchema = z.looseObject({
  promptTokenCount: z.number().optional(),
  candidatesTokenCount: z.number().optional(),
  thoughtsTokenCount: z.number().optional(),
  toolUsePromptTokenCount: z.number().optional(),
  cachedContentTokenCount: z.number().optional(),
  totalTokenCount: z.number().optional(),
});

const GenerateContentResponseSchema = z.looseObject({
  candidates: z.array(CandidateSchema).optional(),
  promptFeedback: z.looseObject({ blockReason: z.string().optional(), blockReasonMessage: z.string().optional() }).optional(),
  usageMetadata: UsageMetadataSchema.optional(),
  modelVersion: z.string().optional(),
  responseId: z.string().optional(),
});

const GoogleErrorSchema = z.looseObject({
  error: z.looseObject({
    code: z.number().optional(),
    message: z.string().optional(),
    status: z.string().optional(),
    details: z
      .array(z.looseObject({ '@type': z.string().optional(), reason: z.string().optional(), retryDelay: z.string().optional() }))
      .optional(),
  }),
});

const ModelListSchema = z.looseObject({
  models: z
    .array(z.looseObject({ name: z.string(), supportedGenerationMethods: z.array(z.string()).optional() }))
    .optional(),
  nextPageToken: z.string().optional(),
});

type GeminiResponse = z.infer<typeof GenerateContentResponseSchema>;
type GeminiPart = z.infer<typeof PartSchema>;
type GeminiCandidate = z.infer<typeof CandidateSchema>;
type GeminiUsage = z.infer<typeof UsageMetadataSchema>;

/** What we send: parts are open-ended (text, inlineData, fileData, functionCall, functionResponse). */
type OutPart = Record<string, unknown>;
interface OutContent {
  role: 'user' | 'model';
  parts: OutPart[];
}
type JsonObject = Record<string, unknown>;

export const GEMINI_DEFAULT_BASE_URL = 'https://generativelanguage.googleapis.com';

/**
 * Gemini 3 rejects function-call history without the `thoughtSignature` it issued. OpenAI
 * clients echo tool-call ids back verbatim, so the signature rides inside the id.
 */
const SIGNATURE_SEPARATOR = '__thought__';

/**
 * The thoughtSignature for function calls Gemini did not produce (history from another provider):
 * Gemini 3 then skips its validation instead of answering 400. Google's own gemini-cli sends this
 * value for the same case (SYNTHETIC_THOUGHT_SIGNATURE, packages/core/src/utils/historyHardening.ts).
 */
export const FOREIGN_THOUGHT_SIGNATURE = 'skip_thought_signature_validator';

// ---------------------------------------------------------------------------------------------
// Request mapping

function badRequest(provider: string, message: string): ProviderError {
  return new ProviderError({ kind: 'bad_request', provider, message });
}

function isPlainObject(v: unknown): v is JsonObject {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function textParts(content: ChatMessage['content']): OutPart[] {
  // Gemini rejects empty text parts.
  return textSegments(content)
    .filter((t) => t.length > 0)
    .map((text) => ({ text }));
}

const MIME_BY_EXTENSION: Record<string, string> = {
  png: 'image/png',
  jpg: 'image/jpeg',
  jpeg: 'image/jpeg',
  webp: 'image/webp',
  gif: 'image/gif',
  heic: 'image/heic',
  heif: 'image/heif',
  pdf: 'application/pdf',
};

function guessMimeType(url: string): string {
  let path = url;
  try {
    path = new URL(url).pathname;
  } catch {
    // not a parseable URL: guess from the raw text
  }
  const ext = /\.([a-z0-9]+)$/i.exec(path)?.[1]?.toLowerCase();
  return (ext && MIME_BY_EXTENSION[ext]) ?? 'image/jpeg';
}

function percentDecoded(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return text; // malformed escapes: send the bytes as written
  }
}

/** data: URLs become inline bytes; anything else is a file reference Gemini fetches itself. */
export function imagePart(url: string): OutPart {
  const data = /^data:([^,]*),(.*)$/s.exec(url);
  if (!data) return { fileData: { mimeType: guessMimeType(url), fileUri: url } };
  const meta = (data[1] ?? '').split(';');
  const payload = data[2] ?? '';
  const base64 = meta.includes('base64') ? payload : Buffer.from(percentDecoded(payload), 'utf8').toString('base64');
  return { inlineData: { mimeType: meta[0] || 'application/octet-stream', data: base64 } };
}

type UserContent = Extract<ChatMessage, { role: 'user' }>['content'];

function userParts(content: UserContent): OutPart[] {
  if (typeof content === 'string') return textParts(content);
  return content.flatMap((p) => (p.type === 'text' ? textParts(p.text) : [imagePart(p.image_url.url)]));
}

function decodeToolCallId(id: string): { signature?: string } {
  const at = id.indexOf(SIGNATURE_SEPARATOR);
  return at < 0 ? {} : { signature: id.slice(at + SIGNATURE_SEPARATOR.length) };
}

/**
 * Gemini usually sends no functionCall.id: the id made for it must differ from every other turn's
 * (a history where two turns both say call_0 gets a 400 from Anthropic: tool_use ids must be unique).
 */
function encodeToolCallId(index: number, part: GeminiPart): string {
  const base = part.functionCall?.id || `call_${index}_${randomBytes(6).toString('hex')}`;
  return part.thoughtSignature ? `${base}${SIGNATURE_SEPARATOR}${part.thoughtSignature}` : base;
}

/**
 * `needsSignature`: the first call of an assistant message, which Gemini 3 validates; a call without a
 * signature of its own (it came from another provider) gets the documented bypass value.
 */
function functionCallPart(call: ToolCall, where: string, provider: string, needsSignature: boolean): OutPart {
  let args: unknown;
  try {
    args = JSON.parse(call.function.arguments || '{}');
  } catch {
    args = undefined;
  }
  if (!isPlainObject(args)) throw badRequest(provider, `${where}.function.arguments must be a JSON object`);
  const signature = decodeToolCallId(call.id).signature ?? (needsSignature ? FOREIGN_THOUGHT_SIGNATURE : undefined);
  return { functionCall: { name: call.function.name, args }, ...(signature ? { thoughtSignature: signature } : {}) };
}

function functionResponsePart(msg: Extract<ChatMessage, { role: 'tool' }>, name: string | undefined, where: string, provider: string): OutPart {
  if (!name) throw badRequest(provider, `${where}.tool_call_id '${msg.tool_call_id}' matches no earlier assistant tool call`);
  const text = contentText(msg.content);
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    parsed = undefined;
  }
  return { functionResponse: { name, response: isPlainObject(parsed) ? parsed : { content: text } } };
}

function appendTurn(contents: OutContent[], role: OutContent['role'], parts: OutPart[]): void {
  if (parts.length === 0) return;
  const last = contents.at(-1);
  // Gemini wants alternating turns; consecutive same-role messages become one turn.
  if (last?.role === role) last.parts.push(...parts);
  else contents.push({ role, parts });
}

/** Messages -> `contents` (user/model turns) plus the system instruction. */
export function toGeminiContents(messages: ChatMessage[], provider: string): { contents: OutContent[]; systemInstruction?: { parts: OutPart[] } } {
  const system: OutPart[] = [];
  const contents: OutContent[] = [];
  const toolNames = new Map<string, string>();
  messages.forEach((msg, i) => {
    const where = `messages[${i}]`;
    switch (msg.role) {
      case 'system':
      case 'developer':
        system.push(...textParts(msg.content));
        break;
      case 'user':
        appendTurn(contents, 'user', userParts(msg.content));
        break;
      case 'assistant': {
        const calls = msg.tool_calls ?? [];
        calls.forEach((c) => toolNames.set(c.id, c.function.name));
        const parts = [...textParts(contentText(msg.content)), ...calls.map((c, j) => functionCallPart(c, `${where}.tool_calls[${j}]`, provider, j === 0))];
        appendTurn(contents, 'model', parts);
        break;
      }
      case 'tool':
        appendTurn(contents, 'user', [functionResponsePart(msg, toolNames.get(msg.tool_call_id), where, provider)]);
        break;
    }
  });
  return { contents, ...(system.length > 0 ? { systemInstruction: { parts: system } } : {}) };
}

// ---------------------------------------------------------------------------------------------
// JSON Schema -> Gemini's OpenAPI 3.0 subset

/** Keywords Gemini's Schema accepts and that we copy unchanged. */
const COPIED_SCHEMA_KEYS = ['title', 'description', 'minItems', 'maxItems', 'minProperties', 'maxProperties', 'minLength', 'maxLength', 'pattern', 'minimum', 'maximum'];

const SUPPORTED_FORMATS: Record<string, string[]> = {
  string: ['enum', 'date-time'],
  number: ['float', 'double'],
  integer: ['int32', 'int64'],
};

const MAX_REF_DEPTH = 8;

interface SchemaScope {
  defs: JsonObject;
  depth: number;
}

function resolveRef(ref: string, scope: SchemaScope): unknown {
  const m = /^#\/(?:\$defs|definitions)\/(.+)$/.exec(ref);
  return m?.[1] ? scope.defs[decodeURIComponent(m[1])] : undefined;
}

function isNullSchema(s: unknown): boolean {
  return isPlainObject(s) && s.type === 'null';
}

/** `type: ["string","null"]` -> `type: "string", nullable: true`. */
function convertType(schema: JsonObject, out: JsonObject): void {
  const types = Array.isArray(schema.type) ? schema.type.filter((t): t is string => typeof t === 'string') : typeof schema.type === 'string' ? [schema.type] : [];
  const nonNull = types.filter((t) => t !== 'null');
  if (types.includes('null') && nonNull.length > 0) out.nullable = true;
  if (nonNull.length === 1) out.type = nonNull[0];
  else if (nonNull.length > 1) out.anyOf = nonNull.map((type) => ({ type }));
  else if (types.length > 0) out.nullable = true;
}

function convertEnum(schema: JsonObject, out: JsonObject): void {
  const values = schema.const !== undefined ? [schema.const] : Array.isArray(schema.enum) ? schema.enum : undefined;
  if (!values) return;
  if (values.includes(null)) out.nullable = true;
  const present = values.filter((v) => v !== null);
  // Gemini enums are string-only; a numeric enum is dropped rather than rejected upstream.
  if (present.length > 0 && present.every((v) => typeof v === 'string')) {
    out.enum = present;
    out.type ??= 'string';
  }
}

function convertObject(schema: JsonObject, out: JsonObject, scope: SchemaScope): void {
  // Gemini rejects an object schema with an empty `properties`; leave it out.
  if (!isPlainObject(schema.properties) || Object.keys(schema.properties).length === 0) return;
  const properties: JsonObject = {};
  for (const [key, value] of Object.entries(schema.properties)) properties[key] = convertSchemaNode(value, scope);
  out.properties = properties;
  out.propertyOrdering = Object.keys(properties);
  const required = Array.isArray(schema.required) ? schema.required.filter((r): r is string => typeof r === 'string' && Object.hasOwn(properties, r)) : [];
  if (required.length > 0) out.required = required;
}

/** Copies `from` into `out` without overriding what `out` already says; properties and required are merged. */
function mergeSchema(out: JsonObject, from: JsonObject): void {
  for (const [key, value] of Object.entries(from)) if (out[key] === undefined) out[key] = value;
  if (isPlainObject(from.properties)) {
    out.properties = { ...(out.properties as JsonObject), ...from.properties };
    out.propertyOrdering = Object.keys(out.properties as JsonObject);
  }
  if (Array.isArray(from.required)) out.required = [...new Set([...((out.required as string[] | undefined) ?? []), ...(from.required as string[])])];
}

/** anyOf/oneOf (null members fold into `nullable`, a single survivor is inlined) and allOf (merged). */
function convertAlternatives(schema: JsonObject, out: JsonObject, scope: SchemaScope): void {
  const alternatives = [schema.anyOf, schema.oneOf].find(Array.isArray);
  if (alternatives) {
    const nonNull = alternatives.filter((s) => !isNullSchema(s));
    if (nonNull.length < alternatives.length) out.nullable = true;
    if (nonNull.length === 1) mergeSchema(out, convertSchemaNode(nonNull[0], scope));
    else if (nonNull.length > 1) out.anyOf = nonNull.map((s) => convertSchemaNode(s, scope));
  }
  if (Array.isArray(schema.allOf)) for (const part of schema.allOf) mergeSchema(out, convertSchemaNode(part, scope));
}

function convertSchemaNode(node: unknown, scope: SchemaScope): JsonObject {
  if (!isPlainObject(node)) return {};
  if (typeof node.$ref === 'string') {
    // Gemini's Schema has no references: local ones are inlined (siblings such as a
    // description win), recursion is cut off.
    const { $ref, ...siblings } = node;
    const target = scope.depth >= MAX_REF_DEPTH ? { type: 'object' } : convertSchemaNode(resolveRef($ref, scope), { ...scope, depth: scope.depth + 1 });
    const out = convertSchemaNode(siblings, scope);
    mergeSchema(out, target);
    return out;
  }
  const out: JsonObject = {};
  for (const key of COPIED_SCHEMA_KEYS) if (node[key] !== undefined) out[key] = node[key];
  convertType(node, out);
  convertEnum(node, out);
  if (typeof node.format === 'string' && typeof out.type === 'string' && SUPPORTED_FORMATS[out.type]?.includes(node.format)) out.format = node.format;
  convertObject(node, out, scope);
  if (node.items !== undefined && !Array.isArray(node.items)) out.items = convertSchemaNode(node.items, scope);
  convertAlternatives(node, out, scope);
  return out;
}

/**
 * A JSON Schema as Gemini's `responseSchema` / function `parameters` accept it: local `$ref`s
 * inlined, nullable types folded, keywords Gemini rejects (`additionalProperties`, `$schema`,
 * `strict`, unsupported formats, non-string enums...) dropped.
 */
export function toGeminiSchema(schema: JsonObject): JsonObject {
  const defs = { ...(isPlainObject(schema.definitions) ? schema.definitions : {}), ...(isPlainObject(schema.$defs) ? schema.$defs : {}) };
  return convertSchemaNode(schema, { defs, depth: 0 });
}

function toolsAndConfig(req: ChatRequest): JsonObject {
  if (!req.tools || req.tools.length === 0) return {};
  const functionDeclarations = req.tools.map((t) => {
    const parameters = t.function.parameters ? toGeminiSchema(t.function.parameters) : undefined;
    // An object schema without properties is rejected: such a function simply takes no parameters.
    const useful = parameters && !(parameters.type === 'object' && !parameters.properties);
    return {
      name: t.function.name,
      ...(t.function.description ? { description: t.function.description } : {}),
      ...(useful ? { parameters } : {}),
    };
  });
  const out: JsonObject = { tools: [{ functionDeclarations }] };
  const choice = req.tool_choice;
  if (choice === 'auto') out.toolConfig = { functionCallingConfig: { mode: 'AUTO' } };
  else if (choice === 'none') out.toolConfig = { functionCallingConfig: { mode: 'NONE' } };
  else if (choice === 'required') out.toolConfig = { functionCallingConfig: { mode: 'ANY' } };
  else if (choice) out.toolConfig = { functionCallingConfig: { mode: 'ANY', allowedFunctionNames: [choice.function.name] } };
  return out;
}

function generationConfig(req: ChatRequest): JsonObject | undefined {
  const cfg: JsonObject = {};
  if (req.temperature != null) cfg.temperature = req.temperature;
  if (req.top_p != null) cfg.topP = req.top_p;
  const limit = req.max_completion_tokens ?? req.max_tokens;
  if (limit != null) cfg.maxOutputTokens = limit;
  if (req.stop != null) cfg.stopSequences = typeof req.stop === 'string' ? [req.stop] : req.stop;
  if (req.seed != null) cfg.seed = req.seed;
  const format = req.response_format;
  if (format?.type === 'json_object' || format?.type === 'json_schema') cfg.responseMimeType = 'application/json';
  if (format?.type === 'json_schema' && format.json_schema.schema) cfg.responseSchema = toGeminiSchema(format.json_schema.schema);
  return Object.keys(cfg).length > 0 ? cfg : undefined;
}

/** The unified request as a Gemini GenerateContentRequest body; unknown fields are dropped. */
export function toGeminiRequest(req: ChatRequest, provider: string): JsonObject {
  const config = generationConfig(req);
  return {
    ...toGeminiContents(req.messages, provider),
    ...toolsAndConfig(req),
    ...(config ? { generationConfig: config } : {}),
  };
}

// ---------------------------------------------------------------------------------------------
// Response mapping

const CONTENT_FILTER_REASONS: ReadonlySet<string> = new Set([
  'SAFETY',
  'LANGUAGE', // stopped: the text is in a language the model does not support
  'RECITATION',
  'PROHIBITED_CONTENT',
  'SPII',
  'BLOCKLIST',
  'IMAGE_SAFETY',
  'IMAGE_PROHIBITED_CONTENT',
  'IMAGE_RECITATION',
]);

/**
 * Finishes where Gemini failed: a tool call it could not produce, or generation stopped for another
 * reason ("OTHER", an image it did not make). Worth another try, never a complete-looking answer.
 */
const FAILED_REASONS: ReadonlySet<string> = new Set(['MALFORMED_FUNCTION_CALL', 'UNEXPECTED_TOOL_CALL', 'TOO_MANY_TOOL_CALLS', 'OTHER', 'NO_IMAGE', 'IMAGE_OTHER']);

/** Throws when the candidate finished with a failure; finishMessage says what was wrong. */
function checkFinish(candidate: GeminiCandidate, provider: string): void {
  const reason = candidate.finishReason;
  if (!reason || !FAILED_REASONS.has(reason)) return;
  const detail = candidate.finishMessage ? `: ${candidate.finishMessage}` : '';
  throw new ProviderError({ kind: 'upstream_error', provider, upstreamCode: reason, message: `Gemini ended the answer with ${reason}${detail}` });
}

export function mapFinishReason(reason: string, hasToolCalls: boolean): FinishReason {
  if (reason === 'MAX_TOKENS') return 'length';
  if (CONTENT_FILTER_REASONS.has(reason)) return 'content_filter';
  return hasToolCalls ? 'tool_calls' : 'stop';
}

export function mapUsage(meta: GeminiUsage): Usage {
  const prompt = tokenCount(meta.promptTokenCount) + tokenCount(meta.toolUsePromptTokenCount);
  const reasoning = tokenCount(meta.thoughtsTokenCount);
  const completion = tokenCount(meta.candidatesTokenCount) + reasoning;
  const usage: Usage = { prompt_tokens: prompt, completion_tokens: completion, total_tokens: tokenCount(meta.totalTokenCount) || prompt + completion };
  const cached = tokenCount(meta.cachedContentTokenCount);
  if (cached) usage.prompt_tokens_details = { cached_tokens: cached };
  if (reasoning) usage.completion_tokens_details = { reasoning_tokens: reasoning };
  return usage;
}

/** Answer text (thought summaries excluded) and function calls, numbered from `firstIndex`. */
function readParts(parts: GeminiPart[], firstIndex: number): { text: string | null; toolCalls: ToolCall[] } {
  const answer = parts.filter((p) => typeof p.text === 'string' && !p.thought);
  const toolCalls = parts
    .filter((p) => p.functionCall)
    .map((p, i) => ({
      id: encodeToolCallId(firstIndex + i, p),
      type: 'function' as const,
      function: { name: p.functionCall?.name ?? '', arguments: JSON.stringify(p.functionCall?.args ?? {}) },
    }));
  return { text: answer.length > 0 ? answer.map((p) => p.text).join('') : null, toolCalls };
}

function parseResponse(raw: unknown, provider: string): GeminiResponse {
  return parseWire(GenerateContentResponseSchema, raw, provider, 'response shape');
}

/** The first candidate, or the reason there is none (a blocked prompt). */
function firstCandidate(res: GeminiResponse, provider: string): GeminiCandidate {
  const candidate = res.candidates?.[0];
  if (candidate) return candidate;
  const block = res.promptFeedback?.blockReason;
  if (block) {
    const detail = res.promptFeedback?.blockReasonMessage ? `: ${res.promptFeedback.blockReasonMessage}` : '';
    throw new ProviderError({ kind: 'content_filter', provider, upstreamCode: block, message: `prompt blocked by Gemini (${block})${detail}` });
  }
  throw new ProviderError({ kind: 'upstream_error', provider, message: 'upstream answered without any candidate' });
}

export function toChatResponse(res: GeminiResponse, fallbackModel: string, provider: string): ChatResponse {
  const candidate = firstCandidate(res, provider);
  checkFinish(candidate, provider);
  const { text, toolCalls } = readParts(candidate.content?.parts ?? [], 0);
  const response: ChatResponse = {
    id: res.responseId ?? `chatcmpl-${randomUUID()}`,
    object: 'chat.completion',
    created: Math.floor(Date.now() / 1000),
    model: res.modelVersion ?? fallbackModel,
    choices: [
      {
        index: 0,
        message: { role: 'assistant', content: text, refusal: null, ...(toolCalls.length > 0 ? { tool_calls: toolCalls } : {}) },
        finish_reason: mapFinishReason(candidate.finishReason ?? 'STOP', toolCalls.length > 0),
        logprobs: null,
      },
    ],
  };
  if (res.usageMetadata) response.usage = mapUsage(res.usageMetadata);
  return response;
}

// ---------------------------------------------------------------------------------------------
// Stream mapping

/**
 * Turns each streamed GenerateContentResponse into unified chunks: a role chunk first, then
 * text and whole tool-call deltas, one finish chunk; `end()` adds the usage chunk.
 */
export class GeminiStreamMapper {
  private id?: string;
  private model: string;
  private readonly created = Math.floor(Date.now() / 1000);
  private started = false;
  private toolCalls = 0;
  private finish?: FinishReason;
  private usage?: Usage;

  constructor(
    fallbackModel: string,
    private readonly provider: string,
  ) {
    this.model = fallbackModel;
  }

  private chunk(choices: ChatChunk['choices']): ChatChunk {
    return { id: this.id ?? 'chatcmpl-gemini', object: 'chat.completion.chunk', created: this.created, model: this.model, choices };
  }

  private delta(delta: ChatChunk['choices'][number]['delta'], finish: FinishReason | null = null): ChatChunk {
    return this.chunk([{ index: 0, delta, finish_reason: finish, logprobs: null }]);
  }

  *push(res: GeminiResponse): Generator<ChatChunk> {
    this.id ??= res.responseId ?? `chatcmpl-${randomUUID()}`;
    if (res.modelVersion) this.model = res.modelVersion;
    if (res.usageMetadata) this.usage = mapUsage(res.usageMetadata);
    // A candidate-less event is either a blocked prompt (throws) or carries usage alone.
    if (!res.candidates?.length && !res.promptFeedback?.blockReason) return;
    const candidate = firstCandidate(res, this.provider);
    if (!this.started) {
      this.started = true;
      yield this.delta({ role: 'assistant', content: '' });
    }
    const { text, toolCalls } = readParts(candidate.content?.parts ?? [], this.toolCalls);
    if (text) yield this.delta({ content: text });
    for (const call of toolCalls) {
      yield this.delta({ tool_calls: [{ index: this.toolCalls++, id: call.id, type: 'function', function: call.function }] });
    }
    checkFinish(candidate, this.provider);
    if (candidate.finishReason && !this.finish) {
      this.finish = mapFinishReason(candidate.finishReason, this.toolCalls > 0);
      yield this.delta({}, this.finish);
    }
  }

  /** The usage chunk; throws when Gemini never said the answer was finished. */
  *end(): Generator<ChatChunk> {
    if (!this.finish) {
      throw new ProviderError({ kind: 'upstream_error', provider: this.provider, message: 'stream ended without a finishReason: the answer may be truncated' });
    }
    if (this.usage) yield { ...this.chunk([]), usage: this.usage };
  }
}

// ---------------------------------------------------------------------------------------------
// Errors

const KIND_BY_STATUS: Record<string, ErrorKind> = {
  RESOURCE_EXHAUSTED: 'rate_limited',
  UNAVAILABLE: 'overloaded',
  UNAUTHENTICATED: 'auth',
  PERMISSION_DENIED: 'auth',
  DEADLINE_EXCEEDED: 'timeout',
  INTERNAL: 'upstream_error',
  NOT_FOUND: 'bad_request',
  FAILED_PRECONDITION: 'bad_request',
};

const API_KEY_REASONS: ReadonlySet<string> = new Set(['API_KEY_INVALID', 'API_KEY_EXPIRED']);
const TOKEN_LIMIT_RE = /input token count.*exceeds|exceeds the maximum number of tokens/i;

/** Google's error body: `{"error":{"code","message","status","details":[...]}}` (sometimes wrapped in an array). */
export function readGeminiError(httpStatus: number, body: unknown, raw: string): ErrorDetails {
  const parsed = GoogleErrorSchema.safeParse(Array.isArray(body) ? body[0] : body);
  if (!parsed.success) return { message: raw.slice(0, 300) || `HTTP ${httpStatus}` };
  const err = parsed.data.error;
  const message = err.message ?? `HTTP ${httpStatus}`;
  const details = err.details ?? [];
  const reason = details.find((d) => d['@type']?.endsWith('google.rpc.ErrorInfo'))?.reason;
  const retryDelay = details.find((d) => d['@type']?.endsWith('google.rpc.RetryInfo'))?.retryDelay;
  const out: ErrorDetails = { message, code: reason ?? err.status };
  if (retryDelay) out.retryAfterMs = parseGoDuration(retryDelay);
  if (reason && API_KEY_REASONS.has(reason)) out.kind = 'auth';
  else if (err.status === 'INVALID_ARGUMENT') out.kind = TOKEN_LIMIT_RE.test(message) ? 'context_length_exceeded' : 'bad_request';
  else if (err.status && KIND_BY_STATUS[err.status]) out.kind = KIND_BY_STATUS[err.status];
  return out;
}

/** A ProviderError for an `{"error":...}` object sent with a 200 (e.g. inside a stream). */
function inlineError(raw: unknown, provider: string): ProviderError {
  const code = (raw as { error?: { code?: unknown } }).error?.code;
  const status = typeof code === 'number' ? code : undefined;
  const details = readGeminiError(status ?? 500, raw, '');
  return providerErrorFrom(details, provider, 'upstream_error', { status });
}

// ---------------------------------------------------------------------------------------------
// Adapter

/** Base URL -> API root; a base that already names the version (…/v1beta) is kept as is. */
function apiRoot(baseUrl: string): string {
  const base = (baseUrl || GEMINI_DEFAULT_BASE_URL).replace(/\/+$/, '');
  return /\/v1(alpha|beta\d*)?$/.test(base) ? base : `${base}/v1beta`;
}

function modelPath(model: string): string {
  if (/^(models|tunedModels)\//.test(model)) return model.split('/').map(encodeURIComponent).join('/');
  return `models/${encodeURIComponent(model)}`;
}

export class GeminiAdapter implements ProviderAdapter {
  constructor(readonly name: string = 'gemini') {}

  private headers(creds: ProviderCredentials): Record<string, string> {
    return { ...creds.headers, ...(creds.apiKey ? { 'x-goog-api-key': creds.apiKey } : {}) };
  }

  private async send(ctx: CallContext, path: string, init: { method?: 'GET' | 'POST'; body?: unknown; accept?: string }): Promise<UpstreamCall> {
    return sendUpstream({
      provider: this.name,
      method: init.method,
      url: `${apiRoot(ctx.credentials.baseUrl)}${path}`,
      headers: { ...(init.accept ? { accept: init.accept } : {}), ...this.headers(ctx.credentials) },
      body: init.body,
      ctx,
      readError: readGeminiError,
    });
  }

  async complete(req: ChatRequest, ctx: CallContext): Promise<ChatResponse> {
    const body = toGeminiRequest(req, this.name);
    const call = await this.send(ctx, `/${modelPath(req.model)}:generateContent`, { body });
    const raw = await call.json();
    if (isPlainObject(raw) && raw.error) throw inlineError(raw, this.name);
    return toChatResponse(parseResponse(raw, this.name), req.model, this.name);
  }

  async *stream(req: ChatRequest, ctx: CallContext): AsyncIterable<ChatChunk> {
    const body = toGeminiRequest(req, this.name);
    const call = await this.send(ctx, `/${modelPath(req.model)}:streamGenerateContent?alt=sse`, { body, accept: 'text/event-stream' });
    const mapper = new GeminiStreamMapper(req.model, this.name);
    try {
      for await (const event of call.events()) {
        const raw = parseEventJson(event.data, this.name);
        if (isPlainObject(raw) && raw.error) throw inlineError(raw, this.name);
        yield* mapper.push(parseResponse(raw, this.name));
      }
    } finally {
      call.cancel();
    }
    yield* mapper.end();
  }

  async listModels(ctx: CallContext): Promise<ListedModel[]> {
    const models: ListedModel[] = [];
    let pageToken: string | undefined;
    // Bounded: a misbehaving upstream cannot keep us paging forever.
    for (let page = 0; page < 50; page++) {
      const query = new URLSearchParams({ pageSize: '1000', ...(pageToken ? { pageToken } : {}) });
      const call = await this.send(ctx, `/models?${query.toString()}`, { method: 'GET' });
      const list = parseWire(ModelListSchema, await call.json(), this.name, 'model list');
      for (const m of list.models ?? []) {
        if (m.supportedGenerationMethods?.includes('generateContent')) models.push({ id: m.name.replace(/^models\//, ''), ownedBy: 'google' });
      }
      pageToken = list.nextPageToken;
      if (!pageToken) break;
    }
    return models;
  }
}
