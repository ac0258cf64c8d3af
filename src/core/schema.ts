import { z } from 'zod';

/**
 * The unified chat API: OpenAI Chat Completions, as zod schemas.
 * Request objects are loose (unknown fields are kept) so OpenAI-compatible
 * targets receive them untouched; other adapters read only what they map.
 */

export const TextPartSchema = z.object({ type: z.literal('text'), text: z.string() });

export const ImagePartSchema = z.object({
  type: z.literal('image_url'),
  image_url: z.object({
    url: z.string().min(1),
    detail: z.enum(['auto', 'low', 'high']).optional(),
  }),
});

export const ContentPartSchema = z.discriminatedUnion('type', [TextPartSchema, ImagePartSchema]);

export const ToolCallSchema = z.object({
  id: z.string(),
  type: z.literal('function'),
  function: z.object({ name: z.string(), arguments: z.string() }),
});

const SystemMessageSchema = z.looseObject({
  role: z.enum(['system', 'developer']),
  content: z.union([z.string(), z.array(TextPartSchema)]),
  name: z.string().optional(),
});

const UserMessageSchema = z.looseObject({
  role: z.literal('user'),
  content: z.union([z.string(), z.array(ContentPartSchema)]),
  name: z.string().optional(),
});

const AssistantMessageSchema = z.looseObject({
  role: z.literal('assistant'),
  content: z.union([z.string(), z.array(TextPartSchema), z.null()]).optional(),
  name: z.string().optional(),
  tool_calls: z.array(ToolCallSchema).optional(),
  refusal: z.string().nullable().optional(),
});

const ToolMessageSchema = z.looseObject({
  role: z.literal('tool'),
  content: z.union([z.string(), z.array(TextPartSchema)]),
  tool_call_id: z.string().min(1),
});

export const MessageSchema = z.discriminatedUnion('role', [
  SystemMessageSchema,
  UserMessageSchema,
  AssistantMessageSchema,
  ToolMessageSchema,
]);

export const FunctionToolSchema = z.looseObject({
  type: z.literal('function'),
  function: z.looseObject({
    name: z.string().regex(/^[a-zA-Z0-9_-]{1,64}$/, 'must be 1-64 letters, digits, _ or -'),
    description: z.string().optional(),
    parameters: z.record(z.string(), z.unknown()).optional(),
    strict: z.boolean().nullable().optional(),
  }),
});

export const ToolChoiceSchema = z.union([
  z.enum(['none', 'auto', 'required']),
  z.object({ type: z.literal('function'), function: z.object({ name: z.string() }) }),
]);

export const JsonSchemaFormatSchema = z.object({
  name: z.string().regex(/^[a-zA-Z0-9_-]{1,64}$/, 'must be 1-64 letters, digits, _ or -'),
  description: z.string().optional(),
  schema: z.record(z.string(), z.unknown()).optional(),
  strict: z.boolean().nullable().optional(),
});

export const ResponseFormatSchema = z.discriminatedUnion('type', [
  z.object({ type: z.literal('text') }),
  z.object({ type: z.literal('json_object') }),
  z.object({ type: z.literal('json_schema'), json_schema: JsonSchemaFormatSchema }),
]);

/** Up to 16 string pairs attached to a request (and echoed on stored completions). */
export const MetadataSchema = z.record(z.string(), z.string());

export const ChatRequestSchema = z.looseObject({
  model: z.string().min(1),
  messages: z.array(MessageSchema).min(1),
  tools: z.array(FunctionToolSchema).optional(),
  tool_choice: ToolChoiceSchema.optional(),
  parallel_tool_calls: z.boolean().optional(),
  response_format: ResponseFormatSchema.optional(),
  temperature: z.number().min(0).max(2).nullable().optional(),
  top_p: z.number().min(0).max(1).nullable().optional(),
  max_tokens: z.number().int().positive().nullable().optional(),
  max_completion_tokens: z.number().int().positive().nullable().optional(),
  stop: z.union([z.string(), z.array(z.string()).max(4)]).nullable().optional(),
  seed: z.number().int().nullable().optional(),
  user: z.string().optional(),
  metadata: MetadataSchema.nullable().optional(),
  n: z.literal(1).nullable().optional(),
  stream: z.boolean().nullable().optional(),
  stream_options: z.object({ include_usage: z.boolean().optional() }).nullable().optional(),
});

const tokens = z.number().int().nonnegative();

/** Token counts with OpenAI's documented breakdowns; adapters fill the parts their provider reports. */
export const UsageSchema = z.object({
  prompt_tokens: tokens,
  completion_tokens: tokens,
  total_tokens: tokens,
  prompt_tokens_details: z
    .object({
      cached_tokens: tokens.optional(),
      audio_tokens: tokens.optional(),
      text_tokens: tokens.optional(),
      image_tokens: tokens.optional(),
      cache_write_tokens: tokens.optional(),
    })
    .optional(),
  completion_tokens_details: z
    .object({
      reasoning_tokens: tokens.optional(),
      audio_tokens: tokens.optional(),
      text_tokens: tokens.optional(),
      accepted_prediction_tokens: tokens.optional(),
      rejected_prediction_tokens: tokens.optional(),
    })
    .optional(),
});

/** The processing tier that served the request, as OpenAI reports it. */
export const ServiceTierSchema = z.enum(['auto', 'default', 'flex', 'scale', 'priority', 'fast']);

/** A web-search citation in an answer (`message.annotations`). */
export const UrlCitationSchema = z.object({
  type: z.literal('url_citation'),
  url_citation: z.object({ start_index: z.number().int(), end_index: z.number().int(), url: z.url(), title: z.string() }),
});

/** The spoken answer when audio output was requested (`message.audio`). */
export const MessageAudioSchema = z.object({ id: z.string(), expires_at: z.number().int(), data: z.string(), transcript: z.string() });

/** The deprecated single function call (`message.function_call`). */
export const FunctionCallSchema = z.object({ name: z.string(), arguments: z.string() });

/** Token log probabilities (`logprobs: true` on the request), relayed as the provider gave them. */
export const LogprobsSchema = z.looseObject({
  content: z.array(z.unknown()).nullable().optional(),
  refusal: z.array(z.unknown()).nullable().optional(),
});

export const FinishReasonSchema = z.enum(['stop', 'length', 'tool_calls', 'content_filter', 'function_call']);

export const ChatResponseSchema = z.object({
  id: z.string(),
  object: z.literal('chat.completion'),
  created: z.number().int(),
  model: z.string(),
  system_fingerprint: z.string().optional(),
  service_tier: ServiceTierSchema.nullable().optional(),
  metadata: MetadataSchema.nullable().optional(),
  choices: z.array(
    z.object({
      index: z.number().int(),
      message: z.object({
        role: z.literal('assistant'),
        content: z.string().nullable(),
        refusal: z.string().nullable(),
        tool_calls: z.array(ToolCallSchema).optional(),
        annotations: z.array(UrlCitationSchema).optional(),
        audio: MessageAudioSchema.nullable().optional(),
        function_call: FunctionCallSchema.optional(),
      }),
      finish_reason: FinishReasonSchema,
      logprobs: LogprobsSchema.nullable(),
    }),
  ),
  usage: UsageSchema.optional(),
});

export const ToolCallDeltaSchema = z.object({
  index: z.number().int(),
  id: z.string().optional(),
  type: z.literal('function').optional(),
  function: z.object({ name: z.string().optional(), arguments: z.string().optional() }).optional(),
});

export const ChatChunkSchema = z.object({
  id: z.string(),
  object: z.literal('chat.completion.chunk'),
  created: z.number().int(),
  model: z.string(),
  system_fingerprint: z.string().optional(),
  service_tier: ServiceTierSchema.nullable().optional(),
  choices: z.array(
    z.object({
      index: z.number().int(),
      delta: z.object({
        role: z.literal('assistant').optional(),
        content: z.string().nullable().optional(),
        refusal: z.string().nullable().optional(),
        tool_calls: z.array(ToolCallDeltaSchema).optional(),
      }),
      finish_reason: FinishReasonSchema.nullable(),
      logprobs: LogprobsSchema.nullable().optional(),
    }),
  ),
  usage: UsageSchema.nullable().optional(),
});

export type ContentPart = z.infer<typeof ContentPartSchema>;
export type ToolCall = z.infer<typeof ToolCallSchema>;
export type ChatMessage = z.infer<typeof MessageSchema>;
export type FunctionTool = z.infer<typeof FunctionToolSchema>;
export type ToolChoice = z.infer<typeof ToolChoiceSchema>;
export type ResponseFormat = z.infer<typeof ResponseFormatSchema>;
export type ChatRequest = z.infer<typeof ChatRequestSchema>;
export type Usage = z.infer<typeof UsageSchema>;
export type FinishReason = z.infer<typeof FinishReasonSchema>;
export type ChatResponse = z.infer<typeof ChatResponseSchema>;
export type ChatChunk = z.infer<typeof ChatChunkSchema>;
export type ToolCallDelta = z.infer<typeof ToolCallDeltaSchema>;

/** Keys of ChatRequest that the unified model understands; anything else is an extension. */
export const KNOWN_REQUEST_KEYS = new Set(Object.keys(ChatRequestSchema.shape));
