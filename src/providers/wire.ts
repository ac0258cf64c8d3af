import { createHash } from 'node:crypto';
import type { z } from 'zod';
import { ProviderError } from '../core/errors';
import type { ChatMessage, ResponseFormat } from '../core/schema';

/**
 * Helpers the provider adapters share for reading upstream payloads and flattening message
 * content. Adapters stay one per provider; only logic that is the same for all of them lives here.
 */

/** A provider payload read with its (loose) schema; a mismatch is the upstream's fault, not the caller's. */
export function parseWire<T extends z.ZodType>(schema: T, value: unknown, provider: string, what: string): z.infer<T> {
  const parsed = schema.safeParse(value);
  if (!parsed.success) throw new ProviderError({ kind: 'upstream_error', provider, message: `upstream sent an unexpected ${what}` });
  return parsed.data;
}

/** The JSON object carried by one stream event's data; `partial` says whether output already reached the caller. */
export function parseEventJson(data: string, provider: string, partial = false): Record<string, unknown> {
  try {
    const parsed: unknown = JSON.parse(data);
    if (parsed && typeof parsed === 'object') return parsed as Record<string, unknown>;
  } catch {
    // reported below
  }
  throw new ProviderError({ kind: 'upstream_error', provider, message: 'upstream sent an invalid stream event', partial });
}

/** A provider's token count as a whole non-negative number (missing or garbage counts as 0). */
export function tokenCount(v: unknown): number {
  return typeof v === 'number' && Number.isFinite(v) ? Math.max(0, Math.round(v)) : 0;
}

/** The text pieces of a message content, in order; image parts are skipped. */
export function textSegments(content: ChatMessage['content']): string[] {
  if (content == null) return [];
  return typeof content === 'string' ? [content] : content.flatMap((p) => (p.type === 'text' ? [p.text] : []));
}

/** A message content as plain text: its text pieces joined by `separator`, images left out. */
export function contentText(content: ChatMessage['content'], separator = ''): string {
  return textSegments(content).join(separator);
}

const ID_ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';

/** `length` letters and digits derived from `text` by SHA-256: the same text always gives the same id. */
export function hashedId(text: string, length: number): string {
  const digest = createHash('sha256').update(text).digest();
  let out = '';
  for (let i = 0; i < length; i++) out += ID_ALPHABET[digest[i % digest.length]! % ID_ALPHABET.length];
  return out;
}

/** Anthropic requires tool-use ids matching ^[a-zA-Z0-9_-]+$; OpenAI takes at most 40 characters. */
const PORTABLE_TOOL_CALL_ID = /^[a-zA-Z0-9_-]{1,40}$/;

/**
 * A tool-call id Anthropic and OpenAI both accept. Ids minted elsewhere that break their rules (Gemini's
 * carry its thought signature: long, with + / =) become `call_` and a hash of themselves, so a call and
 * its tool message still match; valid ids are kept. Only ids sent upstream are rewritten.
 */
export function portableToolCallId(id: string): string {
  return PORTABLE_TOOL_CALL_ID.test(id) ? id : `call_${hashedId(id, 24)}`;
}

export const JSON_OBJECT_INSTRUCTION = 'Respond only with a single valid JSON object, with no text before or after it.';

/**
 * The system-prompt instruction for a JSON answer, for APIs without (full) structured output:
 * json_object as is, json_schema with its schema spelled out. Undefined for text.
 */
export function jsonInstruction(format: ResponseFormat | undefined): string | undefined {
  if (format?.type === 'json_object') return JSON_OBJECT_INSTRUCTION;
  if (format?.type !== 'json_schema') return undefined;
  const { name, description, schema } = format.json_schema;
  const about = description ? ` (${name}: ${description})` : ` (${name})`;
  return `${JSON_OBJECT_INSTRUCTION} It must be valid against this JSON Schema${about}:\n${JSON.stringify(schema ?? { type: 'object' })}`;
}
