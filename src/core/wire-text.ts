import type { ChatChunk } from './schema';

const WIRE_TEXT = Symbol('switchyard.wireText');

type WithWireText = ChatChunk & { [WIRE_TEXT]?: string };

/**
 * Remembers that `chunk` is the parse of `text`, an upstream event that already had OpenAI's chunk
 * shape: the server relays that text instead of serialising the object again (JSON.stringify of
 * every event was about a seventh of the gateway's CPU per stream). A non-enumerable property, so
 * that a copy of the chunk (`{ ...chunk, x }`) never carries a stale text; not a WeakMap, whose
 * entries for short-lived keys slow every young-generation GC (measured: +10% CPU per stream).
 */
export function withWireText(chunk: ChatChunk, text: string): ChatChunk {
  Object.defineProperty(chunk, WIRE_TEXT, { value: text });
  return chunk;
}

/** The chunk as JSON: the upstream's own text when it was relayed unchanged. */
export function chunkJson(chunk: ChatChunk): string {
  return (chunk as WithWireText)[WIRE_TEXT] ?? JSON.stringify(chunk);
}
