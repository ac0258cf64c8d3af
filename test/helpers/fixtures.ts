import nock from 'nock';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Readable } from 'node:stream';

/**
 * Provider fixtures live as files: `<provider>/<case>.json` (a response body exactly as the
 * provider documents it) or `<provider>/<case>.sse` (a raw server-sent-events transcript).
 */
export const FIXTURES_DIR = join(__dirname, '..', 'fixtures');

export function fixtureText(name: string): string {
  return readFileSync(join(FIXTURES_DIR, name), 'utf8');
}

export function fixtureJson<T = unknown>(name: string): T {
  return JSON.parse(fixtureText(name)) as T;
}

/**
 * Splits bytes at awkward places: every `size` bytes, so events, JSON strings and
 * multi-byte UTF-8 characters are cut in the middle.
 */
export function awkwardChunks(text: string, size = 7): Buffer[] {
  const bytes = Buffer.from(text, 'utf8');
  const chunks: Buffer[] = [];
  for (let i = 0; i < bytes.length; i += size) chunks.push(bytes.subarray(i, i + size));
  return chunks;
}

/** A body stream that yields the transcript in awkward chunks, or dies after `dieAfterBytes`. */
export function sseBody(name: string, opts: { chunkSize?: number; dieAfterBytes?: number } = {}): Readable {
  const text = fixtureText(name);
  const chunks = awkwardChunks(text, opts.chunkSize ?? 7);
  let sent = 0;
  return new Readable({
    read() {
      const next = chunks.shift();
      if (opts.dieAfterBytes !== undefined && sent >= opts.dieAfterBytes) {
        this.destroy(new Error('socket hang up'));
        return;
      }
      if (!next) {
        this.push(null);
        return;
      }
      sent += next.length;
      setImmediate(() => this.push(next));
    },
  });
}

export const SSE_HEADERS = { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' };

/** Captures the JSON body an upstream received, for asserting on the wire format. */
export function captureBody(): { body?: Record<string, unknown>; headers?: Record<string, string | string[]>; match: (body: unknown) => boolean } {
  const captured: { body?: Record<string, unknown>; headers?: Record<string, string | string[]>; match: (body: unknown) => boolean } = {
    match: (body: unknown) => {
      captured.body = body as Record<string, unknown>;
      return true;
    },
  };
  return captured;
}

export function resetNock(): void {
  nock.cleanAll();
  nock.enableNetConnect();
}

export function blockNetwork(): void {
  nock.disableNetConnect();
}

/** Drains an async iterable into an array. */
export async function collect<T>(it: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const x of it) out.push(x);
  return out;
}
