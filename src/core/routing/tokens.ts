import { ObjectMark } from '../marks';
import type { ChatMessage } from '../schema';
import type { CatalogModel, RoutedChatRequest } from './types';

/**
 * Prompt token estimates, computed once per request and reused for every model a plan looks at.
 *
 * - OpenAI-family models: the real o200k_base tokenizer (gpt-tokenizer) over the message texts,
 *   plus OpenAI's chat framing (3 tokens per message, 3 to prime the reply).
 * - Other models (Claude, Gemini, Llama, Mistral...) have tokenizers we do not ship: an estimate of
 *   1 token per 3.5 characters, which errs on the high side for English text (~4 chars per token),
 *   plus 4 tokens of framing per message.
 * - Tool definitions and JSON schemas count as their JSON text.
 * - Images: OpenAI bills 85 tokens for `detail: "low"` and ~765 for a typical 1024x1024 image at high
 *   detail; other providers range from ~260 (Gemini) to ~1,600 (Claude at 1092x1092), so 1,000 is used.
 * - Very long texts are tokenized only up to EXACT_TOKENIZE_MAX_CHARS and the count is scaled by length,
 *   which keeps the cost bounded (a megabyte prompt would otherwise take tens of milliseconds).
 * - The o200k count is computed only when an OpenAI-family model asks for it, and the tokenizer is
 *   loaded on first use (its tables take ~200 ms and ~45 MB of heap): `preloadTokenizer()` loads it
 *   up front when the catalog has such models, so that no request pays the load.
 */

export interface TokenEstimate {
  /** o200k_base count (OpenAI-family models); computed on first read. */
  readonly openai: number;
  /** Character-based estimate (all other models). */
  readonly generic: number;
  /** Number of image parts in the request. */
  readonly images: number;
}

export const GENERIC_CHARS_PER_TOKEN = 3.5;
export const OPENAI_TOKENS_PER_MESSAGE = 3;
export const OPENAI_REPLY_PRIMING_TOKENS = 3;
export const GENERIC_TOKENS_PER_MESSAGE = 4;
export const OPENAI_IMAGE_TOKENS_LOW = 85;
export const OPENAI_IMAGE_TOKENS = 765;
export const GENERIC_IMAGE_TOKENS = 1000;
export const EXACT_TOKENIZE_MAX_CHARS = 32_000;

const OPENAI_MODEL_PATTERN = /(^|\/)(gpt-|chatgpt-|o\d(-|$)|codex-)/i;

const estimates = new ObjectMark<TokenEstimate>();
const families = new WeakMap<CatalogModel, boolean>();

/** True when the model counts tokens with OpenAI's o200k encoding (also via OpenRouter, Groq's gpt-oss...). */
export function isOpenAIFamily(model: CatalogModel): boolean {
  let openai = families.get(model);
  if (openai === undefined) {
    openai = OPENAI_MODEL_PATTERN.test(model.model);
    families.set(model, openai);
  }
  return openai;
}

type CountTokens = (text: string) => number;
let o200k: CountTokens | undefined;

/** Loads the o200k_base tokenizer now (servers whose catalog has OpenAI-family models). */
export function preloadTokenizer(): void {
  // A plain require so that bundles (n8n, Zapier) include it and only using it loads it.
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  o200k ??= (require('gpt-tokenizer/encoding/o200k_base') as typeof import('gpt-tokenizer/encoding/o200k_base')).countTokens;
}

/** True once the tokenizer is loaded (diagnostics, tests). */
export function tokenizerLoaded(): boolean {
  return o200k !== undefined;
}

function countO200k(text: string): number {
  preloadTokenizer();
  const countTokens = o200k as CountTokens;
  if (text.length <= EXACT_TOKENIZE_MAX_CHARS) return countTokens(text);
  const sampled = countTokens(text.slice(0, EXACT_TOKENIZE_MAX_CHARS));
  return Math.ceil((sampled * text.length) / EXACT_TOKENIZE_MAX_CHARS);
}

class Estimate implements TokenEstimate {
  private exact?: number;

  constructor(
    /** The prompt's texts (the request's own strings): joined only if the o200k count is asked for. */
    private texts: string[],
    private readonly openaiExtra: number,
    readonly generic: number,
    readonly images: number,
  ) {}

  get openai(): number {
    if (this.exact === undefined) {
      this.exact = countO200k(this.texts.join('\n')) + this.openaiExtra;
      this.texts = [];
    }
    return this.exact;
  }
}

/** Appends the text parts of a message's content to `texts`. */
export function appendText(texts: string[], content: ChatMessage['content']): void {
  if (typeof content === 'string') texts.push(content);
  else if (Array.isArray(content)) for (const part of content) if (part.type === 'text') texts.push(part.text);
}

function countImages(content: ChatMessage['content']): { images: number; lowDetail: number } {
  let images = 0;
  let lowDetail = 0;
  if (Array.isArray(content)) {
    for (const part of content) {
      if (part.type !== 'image_url') continue;
      images++;
      if (part.image_url.detail === 'low') lowDetail++;
    }
  }
  return { images, lowDetail };
}

/** Token estimates for a request's prompt; memoised per request object. */
export function estimateTokens(request: RoutedChatRequest): TokenEstimate {
  const known = estimates.get(request);
  if (known) return known;
  const texts: string[] = [];
  let images = 0;
  let lowDetail = 0;
  for (const message of request.messages) {
    appendText(texts, message.content);
    const counted = countImages(message.content);
    images += counted.images;
    lowDetail += counted.lowDetail;
    if (message.role === 'assistant' && message.tool_calls) {
      for (const call of message.tool_calls) texts.push(call.function.name, call.function.arguments);
    }
  }
  if (request.tools?.length) texts.push(JSON.stringify(request.tools));
  if (request.response_format?.type === 'json_schema') texts.push(JSON.stringify(request.response_format.json_schema));
  // The length of texts.join('\n'), without building it.
  const chars = texts.reduce((n, t) => n + t.length, Math.max(0, texts.length - 1));
  const messages = request.messages.length;
  const estimate = new Estimate(
    texts,
    messages * OPENAI_TOKENS_PER_MESSAGE + OPENAI_REPLY_PRIMING_TOKENS + lowDetail * OPENAI_IMAGE_TOKENS_LOW + (images - lowDetail) * OPENAI_IMAGE_TOKENS,
    Math.ceil(chars / GENERIC_CHARS_PER_TOKEN) + messages * GENERIC_TOKENS_PER_MESSAGE + images * GENERIC_IMAGE_TOKENS,
    images,
  );
  estimates.set(request, estimate);
  return estimate;
}

/** The estimate that applies to `model`. */
export function promptTokensFor(estimate: TokenEstimate, model: CatalogModel): number {
  return isOpenAIFamily(model) ? estimate.openai : estimate.generic;
}

/** Estimated prompt tokens of `request` for `model`. */
export function estimatePromptTokens(request: RoutedChatRequest, model: CatalogModel): number {
  return promptTokensFor(estimateTokens(request), model);
}

/** Tokens of generated text on `model` (o200k for OpenAI-family models, the character estimate otherwise). */
export function estimateTextTokens(text: string, model: CatalogModel): number {
  if (text === '') return 0;
  return isOpenAIFamily(model) ? countO200k(text) : Math.ceil(text.length / GENERIC_CHARS_PER_TOKEN);
}

/** The output limit the request set, if any. */
export function requestedOutputTokens(request: RoutedChatRequest): number | undefined {
  return request.max_completion_tokens ?? request.max_tokens ?? undefined;
}

/** Tokens the answer is expected to take on `model`: the request's limit or the configured guess, capped by the model. */
export function expectedOutputTokens(expected: number, model: CatalogModel): number {
  return Math.min(expected, model.max_output_tokens);
}
