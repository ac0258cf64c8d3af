import type { ChatChunk } from '../core/schema';

/** A JSON string's characters with nothing to decode: no quote, backslash or control character. */
const PLAIN = '([^"\\\\\\u0000-\\u001f]*)';

/**
 * The event most of a stream is made of, in the exact text OpenAI and OpenAI-compatible servers
 * send: one choice, a text delta, no finish, optional tier / fingerprint / obfuscation padding.
 * Anything else (other key order, escapes in the text, more fields) does not match.
 */
const CONTENT_DELTA = new RegExp(
  '^\\{"id":"' + PLAIN + '","object":"chat\\.completion\\.chunk","created":(0|[1-9]\\d{0,14}),"model":"' + PLAIN + '",' +
    '(?:"service_tier":"([a-z_]+)",)?(?:"system_fingerprint":"' + PLAIN + '",)?' +
    '"choices":\\[\\{"index":0,"delta":\\{"content":"' + PLAIN + '"\\},"logprobs":null,"finish_reason":null\\}\\]' +
    '(?:,"obfuscation":"' + PLAIN + '")?\\}$',
);

/**
 * The chunk a plain content-delta event holds, read without JSON.parse: equal to JSON.parse(data)
 * (the same fields, in the same order). Undefined when `data` is anything else, which the caller
 * then parses in full. Measured: ~0.15 us against ~0.7 us for JSON.parse per event, and the
 * events of a stream are nearly all of this shape.
 */
export function contentDeltaChunk(data: string, serviceTiers: ReadonlySet<string>): ChatChunk | undefined {
  const m = CONTENT_DELTA.exec(data);
  if (!m) return undefined;
  const [, id, created, model, tier, fingerprint, content, obfuscation] = m as unknown as string[];
  if (tier !== undefined && !serviceTiers.has(tier)) return undefined;
  const chunk: Record<string, unknown> = { id, object: 'chat.completion.chunk', created: Number(created), model };
  if (tier !== undefined) chunk.service_tier = tier;
  if (fingerprint !== undefined) chunk.system_fingerprint = fingerprint;
  chunk.choices = [{ index: 0, delta: { content }, logprobs: null, finish_reason: null }];
  if (obfuscation !== undefined) chunk.obfuscation = obfuscation;
  return chunk as ChatChunk;
}
