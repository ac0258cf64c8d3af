import type { z } from 'zod';
import { ProviderError } from '../core/errors';
import type { ChatMessage } from '../core/schema';

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
