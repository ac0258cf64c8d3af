import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { UsageRowInput } from '../../../src/server/store';

/** A fresh directory for store files; remove() deletes it. */
export function tempDir(): { dir: string; file: (name?: string) => string; remove: () => void } {
  const dir = mkdtempSync(join(tmpdir(), 'switchyard-store-'));
  return { dir, file: (name = 'store.sqlite') => join(dir, name), remove: () => rmSync(dir, { recursive: true, force: true }) };
}

/** A settable clock starting at 2026-11-22 12:00 UTC. */
export function fakeClock(start = Date.UTC(2026, 10, 22, 12)): { now: () => number; set: (ms: number) => void; advance: (ms: number) => void } {
  let t = start;
  return { now: () => t, set: (ms) => (t = ms), advance: (ms) => (t += ms) };
}

/** A usage row with sensible defaults. */
export function usageRow(over: Partial<UsageRowInput> = {}): UsageRowInput {
  return {
    time: Date.UTC(2026, 10, 22, 12),
    requested_model: 'auto',
    model: 'openai/gpt-4.1-mini',
    provider: 'openai',
    attempts: 1,
    latency_ms: 100,
    status: 200,
    prompt_tokens: 10,
    completion_tokens: 5,
    cost_usd: 0.001,
    ...over,
  };
}
