import Database from 'better-sqlite3';
import type { RouteStory } from '../../src/core/routing/types';
import { GatewayError } from '../../src/core/errors';
import {
  UsageAggregateRowSchema,
  openStore,
  usageRowFromError,
  usageRowFromStory,
  type Store,
} from '../../src/server/store';
import { fakeClock, tempDir, usageRow } from './helpers/store';

const DAY = 86_400_000;
const NOON = Date.UTC(2026, 10, 22, 12);

function countRows(file: string): number {
  const db = new Database(file, { readonly: true });
  try {
    return db.prepare('SELECT COUNT(*) FROM usage').pluck().get() as number;
  } finally {
    db.close();
  }
}

const nextTick = () => new Promise((resolve) => setImmediate(resolve));

describe('usage store: buffered batch writes', () => {
  let tmp: ReturnType<typeof tempDir>;
  beforeEach(() => (tmp = tempDir()));
  afterEach(() => tmp.remove());

  it('buffers rows and writes them on the next tick once a batch is full', async () => {
    const store = openStore(tmp.file(), { batchSize: 10, flushIntervalMs: 3_600_000 });
    for (let i = 0; i < 9; i++) store.usage.record(usageRow());
    await nextTick();
    expect(countRows(tmp.file())).toBe(0);
    expect(store.usage.pending()).toBe(9);
    for (let i = 0; i < 16; i++) store.usage.record(usageRow());
    expect(countRows(tmp.file())).toBe(0); // record() itself never writes
    await nextTick();
    expect(countRows(tmp.file())).toBe(25);
    expect(store.usage.pending()).toBe(0);
    await store.close();
  });

  it('writes a partial batch when the flush interval elapses', async () => {
    jest.useFakeTimers();
    try {
      const store = openStore(tmp.file(), { batchSize: 100, flushIntervalMs: 500 });
      store.usage.record(usageRow());
      store.usage.record(usageRow());
      jest.advanceTimersByTime(499);
      expect(countRows(tmp.file())).toBe(0);
      jest.advanceTimersByTime(1);
      expect(countRows(tmp.file())).toBe(2);
      store.usage.record(usageRow());
      jest.advanceTimersByTime(500);
      expect(countRows(tmp.file())).toBe(3);
      await store.close();
    } finally {
      jest.useRealTimers();
    }
  });

  it('loses no rows on close with many pending rows, and refuses rows after close', async () => {
    const store = openStore(tmp.file(), { batchSize: 1_000_000, flushIntervalMs: 3_600_000 });
    for (let i = 0; i < 20_000; i++) store.usage.record(usageRow({ latency_ms: i % 1000, cost_usd: 0.0001 }));
    expect(store.usage.pending()).toBe(20_000);
    await store.close();
    expect(countRows(tmp.file())).toBe(20_000);
    expect(() => store.usage.record(usageRow())).toThrow(/closed/);
    await store.close(); // idempotent

    const reopened = openStore(tmp.file());
    const [row] = reopened.usage.aggregate({ group_by: 'model' });
    expect(row).toMatchObject({ calls: 20_000, cost_usd: 2 });
    await reopened.close();
  });

  it('keeps rows buffered when a write fails and writes them on the next attempt', async () => {
    jest.useFakeTimers();
    try {
      const errors: unknown[] = [];
      const store = openStore(tmp.file(), { batchSize: 100, flushIntervalMs: 500, onError: (e) => errors.push(e) });
      const side = new Database(tmp.file());
      side.exec('ALTER TABLE usage RENAME TO usage_away');
      store.usage.record(usageRow());
      store.usage.record(usageRow());
      jest.advanceTimersByTime(500);
      expect(errors).toHaveLength(1);
      expect(store.usage.pending()).toBe(2);
      await expect(store.usage.flush()).rejects.toThrow();
      side.exec('ALTER TABLE usage_away RENAME TO usage');
      side.close();
      store.usage.record(usageRow());
      jest.advanceTimersByTime(500);
      expect(store.usage.pending()).toBe(0);
      expect(countRows(tmp.file())).toBe(3);
      await store.close();
    } finally {
      jest.useRealTimers();
    }
  });

  it('validates rows at record() so one bad row cannot poison a batch', async () => {
    const store = openStore(':memory:');
    expect(() => store.usage.record(usageRow({ status: 42 }))).toThrow();
    expect(() => store.usage.record(usageRow({ prompt_tokens: -1 }))).toThrow();
    expect(store.usage.pending()).toBe(0);
    await store.close();
  });
});

describe('usage store: prompts and PII', () => {
  let tmp: ReturnType<typeof tempDir>;
  beforeEach(() => (tmp = tempDir()));
  afterEach(() => tmp.remove());

  const prompt = 'Mail jane.doe@example.com or call +1 (555) 123-4567, card 4111 1111 1111 1111.';
  const storedTexts = (file: string) => {
    const db = new Database(file, { readonly: true });
    try {
      return db.prepare('SELECT prompt, completion FROM usage').all();
    } finally {
      db.close();
    }
  };

  it('drops prompt and completion text unless prompt logging is enabled', async () => {
    const store = openStore(tmp.file());
    store.usage.record(usageRow({ prompt, completion: 'ok jane.doe@example.com' }));
    await store.close();
    expect(storedTexts(tmp.file())).toEqual([{ prompt: null, completion: null }]);
  });

  it('keeps redacted text when prompt logging is enabled', async () => {
    const store = openStore(tmp.file(), { logPrompts: true });
    store.usage.record(usageRow({ prompt, completion: 'Sure, I will write to jane.doe@example.com.' }));
    store.usage.record(usageRow());
    await store.close();
    expect(storedTexts(tmp.file())).toEqual([
      { prompt: 'Mail [EMAIL] or call [PHONE], card [CARD].', completion: 'Sure, I will write to [EMAIL].' },
      { prompt: null, completion: null },
    ]);
  });
});

describe('usage store: cost precision', () => {
  it('sums sub-micro-dollar costs without rounding them to $0 (prices are kept to a billionth)', async () => {
    const store = openStore(':memory:', { clock: () => NOON });
    try {
      for (let i = 0; i < 3; i++) store.usage.record(usageRow({ cost_usd: 1.5e-7 }));
      await store.usage.flush();
      expect(store.usage.aggregate({ group_by: 'model' })[0]?.cost_usd).toBeCloseTo(4.5e-7, 12);
    } finally {
      await store.close();
    }
  });
});

describe('usage store: aggregates', () => {
  let store: Store;
  let keyA: string;
  beforeEach(() => {
    store = openStore(':memory:', { clock: () => NOON });
    keyA = store.keys.create({ name: 'team-a' }).record.id;
    // openai/gpt-4.1-mini: 100 calls with latencies 1..100 ms, 10 of them errors, 5 from cache.
    for (let i = 1; i <= 100; i++) {
      store.usage.record(
        usageRow({
          key_id: keyA,
          latency_ms: i,
          status: i <= 10 ? 502 : 200,
          error_kind: i <= 10 ? 'upstream_error' : null,
          cache_hit: i > 95,
          attempts: i % 2 === 0 ? 2 : 1,
          fallbacks: i % 2 === 0 ? 1 : 0,
          cost_usd: 0.01,
        }),
      );
    }
    // anthropic/claude-haiku: 50 calls at 10, 20, ... 500 ms, shuffled, on the next day, anonymous.
    const latencies = Array.from({ length: 50 }, (_, i) => (i + 1) * 10).sort((a, b) => ((a * 7919) % 97) - ((b * 7919) % 97));
    for (const latency of latencies) {
      store.usage.record(
        usageRow({
          time: NOON + DAY,
          model: 'anthropic/claude-haiku',
          provider: 'anthropic',
          latency_ms: latency,
          prompt_tokens: 100,
          completion_tokens: 50,
          cost_usd: 0.02,
        }),
      );
    }
  });
  afterEach(() => store.close());

  it('groups by model with nearest-rank p50/p95, errors, fallbacks, cache hits and share', () => {
    const rows = store.usage.aggregate({ group_by: 'model' });
    for (const row of rows) UsageAggregateRowSchema.strict().parse(row);
    expect(rows).toEqual([
      {
        group: 'openai/gpt-4.1-mini',
        calls: 100,
        prompt_tokens: 1000,
        completion_tokens: 500,
        cost_usd: 1,
        p50_latency_ms: 50,
        p95_latency_ms: 95,
        errors: 10,
        fallbacks: 50,
        cache_hits: 5,
        share: 0.6667,
      },
      {
        group: 'anthropic/claude-haiku',
        calls: 50,
        prompt_tokens: 5000,
        completion_tokens: 2500,
        cost_usd: 1,
        p50_latency_ms: 250,
        p95_latency_ms: 480,
        errors: 0,
        fallbacks: 0,
        cache_hits: 0,
        share: 0.3333,
      },
    ]);
  });

  it('groups by provider, key (with the key name) and UTC day', () => {
    expect(store.usage.aggregate({ group_by: 'provider' }).map((r) => [r.group, r.calls])).toEqual([
      ['openai', 100],
      ['anthropic', 50],
    ]);
    const byKey = store.usage.aggregate({ group_by: 'key' });
    expect(byKey.map((r) => [r.group, r.key_name, r.calls, r.share])).toEqual([
      [keyA, 'team-a', 100, 0.6667],
      ['(anonymous)', undefined, 50, 0.3333],
    ]);
    expect(store.usage.aggregate({ group_by: 'day' }).map((r) => [r.group, r.calls, r.p50_latency_ms])).toEqual([
      ['2026-11-22', 100, 50],
      ['2026-11-23', 50, 250],
    ]);
  });

  it('filters by time range (from inclusive, to exclusive) and key', () => {
    const nextDay = store.usage.aggregate({ group_by: 'model', from: NOON + 1 });
    expect(nextDay.map((r) => [r.group, r.calls, r.share])).toEqual([['anthropic/claude-haiku', 50, 1]]);
    expect(store.usage.aggregate({ group_by: 'model', from: NOON, to: NOON + 1 }).map((r) => r.calls)).toEqual([100]);
    expect(store.usage.aggregate({ group_by: 'model', to: NOON })).toEqual([]);
    expect(store.usage.aggregate({ group_by: 'model', key_id: keyA }).map((r) => r.group)).toEqual(['openai/gpt-4.1-mini']);
    expect(store.usage.aggregate({ group_by: 'model', key_id: 'key_none' })).toEqual([]);
  });

  it('computes percentiles for tiny groups and groups failed calls without a model', () => {
    const small = openStore(':memory:');
    small.usage.record(usageRow({ model: 'x/one', latency_ms: 7 }));
    small.usage.record(usageRow({ model: 'x/two', latency_ms: 20 }));
    small.usage.record(usageRow({ model: 'x/two', latency_ms: 10 }));
    small.usage.record(usageRow({ model: null, provider: null, status: 503, latency_ms: 3 }));
    const rows = small.usage.aggregate({ group_by: 'model' });
    expect(rows.map((r) => [r.group, r.p50_latency_ms, r.p95_latency_ms, r.errors])).toEqual([
      ['x/two', 10, 20, 0],
      ['(none)', 3, 3, 1],
      ['x/one', 7, 7, 0],
    ]);
    void small.close();
  });

  it('answers whole-millisecond percentiles even for rows that hold fractions', async () => {
    const raw = openStore(':memory:');
    for (const latency of [2.451517999999851, 7.5, 1.2]) raw.usage.record(usageRow({ latency_ms: latency }));
    const [row] = raw.usage.aggregate({ group_by: 'model' });
    expect(row).toMatchObject({ p50_latency_ms: 2, p95_latency_ms: 8 });
    await raw.close();
  });
});

describe('usage store: spend totals for budgets', () => {
  let tmp: ReturnType<typeof tempDir>;
  beforeEach(() => (tmp = tempDir()));
  afterEach(() => tmp.remove());

  it('seeds day and month totals from the table at open, advances them and rolls over', async () => {
    const clock = fakeClock(NOON);
    const writer = openStore(tmp.file());
    writer.usage.record(usageRow({ key_id: 'key_a', time: NOON - 3600_000, cost_usd: 0.5 })); // today
    writer.usage.record(usageRow({ key_id: 'key_a', time: NOON - 5 * DAY, cost_usd: 2 })); // this month
    writer.usage.record(usageRow({ key_id: 'key_a', time: Date.UTC(2026, 9, 31), cost_usd: 100 })); // last month
    writer.usage.record(usageRow({ key_id: 'key_b', time: NOON, cost_usd: 1 }));
    await writer.close();

    const store = openStore(tmp.file(), { clock: clock.now });
    const today = Date.UTC(2026, 10, 22);
    const month = Date.UTC(2026, 10, 1);
    expect(store.usage.spendSince('key_a', today)).toBeCloseTo(0.5);
    expect(store.usage.spendSince('key_a', month)).toBeCloseTo(2.5);
    expect(store.usage.spendSince('key_b', today)).toBeCloseTo(1);
    expect(store.usage.spendSince('key_c', today)).toBe(0);
    // Any other start is answered from the table.
    expect(store.usage.spendSince('key_a', Date.UTC(2026, 9, 1))).toBeCloseTo(102.5);

    store.usage.addSpend('key_a', 0.25, clock.now());
    expect(store.usage.spendSince('key_a', today)).toBeCloseTo(0.75);
    expect(store.usage.spendSince('key_a', month)).toBeCloseTo(2.75);
    expect(store.keys.list()).toEqual([]); // spend is per key id; no key rows here

    clock.set(Date.UTC(2026, 10, 23, 0, 0, 1));
    expect(store.usage.spendSince('key_a', Date.UTC(2026, 10, 23))).toBe(0);
    expect(store.usage.spendSince('key_a', month)).toBeCloseTo(2.75);
    // A request that started before midnight and settles after it counts for the month only.
    store.usage.addSpend('key_a', 1, Date.UTC(2026, 10, 22, 23, 59));
    expect(store.usage.spendSince('key_a', Date.UTC(2026, 10, 23))).toBe(0);
    expect(store.usage.spendSince('key_a', month)).toBeCloseTo(3.75);

    clock.set(Date.UTC(2026, 11, 1, 0, 0, 1));
    expect(store.usage.spendSince('key_a', Date.UTC(2026, 11, 1))).toBe(0);
    store.usage.addSpend('key_a', 0.1, clock.now());
    expect(store.usage.spendSince('key_a', Date.UTC(2026, 11, 1))).toBeCloseTo(0.1);
    await store.close();
  });

  it('shows each key its current spend in list()', async () => {
    const clock = fakeClock(NOON);
    const store = openStore(':memory:', { clock: clock.now });
    const { record } = store.keys.create({ name: 'a', daily_budget_usd: 5 });
    store.usage.addSpend(record.id, 1.234567891, NOON);
    expect(store.keys.list()[0]).toMatchObject({ spend_today_usd: 1.234567891, spend_month_usd: 1.234567891 });
    await store.close();
  });
});

describe('usageRowFromStory / usageRowFromError', () => {
  const story: RouteStory = {
    requestedModel: 'auto',
    model: 'anthropic/claude-haiku',
    provider: 'anthropic',
    attempts: [
      { key: 'openai/gpt-4.1-mini', provider: 'openai', outcome: 'rate_limited', latencyMs: 20, status: 429 },
      { key: 'openai/gpt-4.1-mini', provider: 'openai', outcome: 'timeout', latencyMs: 30 },
      { key: 'anthropic/claude-haiku', provider: 'anthropic', outcome: 'ok', latencyMs: 200, ttftMs: 80, status: 200 },
    ],
    costUsd: 0.0042,
    usage: { prompt_tokens: 120, completion_tokens: 30, total_tokens: 150 },
    cached: false,
    reason: 'cheapest healthy model',
    latencyMs: 260,
    ttftMs: 140,
    plan: { candidates: [], excluded: [], prefer: 'balanced' },
  };

  it('maps a story to a row', () => {
    expect(usageRowFromStory(story, { time: NOON, key_id: 'key_a', source: 'webhook', prompt: 'hi' })).toEqual({
      time: NOON,
      key_id: 'key_a',
      requested_model: 'auto',
      model: 'anthropic/claude-haiku',
      provider: 'anthropic',
      attempts: 3,
      fallbacks: 1, // a retry on gpt-4.1-mini, then one fallback to claude-haiku
      prompt_tokens: 120,
      completion_tokens: 30,
      cost_usd: 0.0042,
      ttft_ms: 140,
      latency_ms: 260,
      status: 200,
      error_kind: null,
      cache_hit: false,
      source: 'webhook',
      prompt: 'hi',
      completion: null,
    });
  });

  it('maps a cached answer without usage', () => {
    const row = usageRowFromStory({ ...story, attempts: [], cached: true, usage: undefined, costUsd: 0, ttftMs: undefined });
    expect(row).toMatchObject({ attempts: 0, fallbacks: 0, prompt_tokens: 0, cache_hit: true, ttft_ms: null, source: 'api', key_id: null });
    expect(row.time).toBeGreaterThan(0);
  });

  it('maps a gateway error to a row', () => {
    const err = new GatewayError(503, 'every candidate failed', { code: 'upstream_overloaded' });
    expect(usageRowFromError(err, { requested_model: 'auto', latency_ms: 900, attempts: 3, time: NOON, key_id: 'key_a' })).toMatchObject({
      time: NOON,
      key_id: 'key_a',
      model: null,
      status: 503,
      error_kind: 'upstream_overloaded',
      attempts: 3,
      fallbacks: 2,
      cost_usd: 0,
    });
  });

  it('keeps latencies in whole milliseconds, as the system clock gives them', () => {
    const err = new GatewayError(400, 'bad', { code: 'invalid_value' });
    // performance.now() durations carry fractions.
    expect(usageRowFromError(err, { requested_model: 'auto', latency_ms: 2.451517999999851, time: NOON })).toMatchObject({ latency_ms: 2, ttft_ms: null });
    expect(usageRowFromStory({ ...story, latencyMs: 260.5, ttftMs: 140.4 }, { time: NOON })).toMatchObject({ latency_ms: 261, ttft_ms: 140 });
  });
});
