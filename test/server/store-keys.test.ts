import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import Database from 'better-sqlite3';
import { GatewayError } from '../../src/core/errors';
import { KeyInfoSchema, openStore, type Store } from '../../src/server/store';
import { SCHEMA_VERSION } from '../../src/server/store/db';
import { fakeClock, tempDir } from './helpers/store';

describe('key store', () => {
  let tmp: ReturnType<typeof tempDir>;
  let store: Store;
  const clock = fakeClock();

  beforeEach(() => {
    tmp = tempDir();
    store = openStore(tmp.file(), { clock: clock.now });
  });
  afterEach(async () => {
    await store.close();
    tmp.remove();
  });

  function fileBytes(): Buffer {
    const parts = [tmp.file(), `${tmp.file()}-wal`].filter(existsSync).map((p) => readFileSync(p));
    return Buffer.concat(parts);
  }

  it('creates sk-sy- keys with 43 random url-safe characters and an id', () => {
    const a = store.keys.create({ name: 'ci' });
    const b = store.keys.create({ name: 'ci' });
    expect(a.key).toMatch(/^sk-sy-[A-Za-z0-9_-]{43}$/);
    expect(a.key).not.toBe(b.key);
    expect(a.record.id).toMatch(/^key_[0-9a-f]{16}$/);
    expect(a.record.prefix).toBe(`${a.key.slice(0, 12)}…`);
    expect(a.record.created_at).toBe(clock.now());
    expect(a.record).toMatchObject({ name: 'ci', allowed_models: null, requests_per_minute: null, revoked_at: null });
  });

  it('stores only a peppered hash: neither the key nor its plain sha256 is in the database files', async () => {
    const { key } = store.keys.create({ name: 'secret-holder', allowed_models: ['openai/*'], daily_budget_usd: 2 });
    const plainSha = createHash('sha256').update(key).digest();
    for (const bytes of [fileBytes(), await closedBytes()]) {
      expect(bytes.includes(Buffer.from(key))).toBe(false);
      expect(bytes.includes(Buffer.from(key.slice(12)))).toBe(false);
      expect(bytes.includes(plainSha)).toBe(false);
      expect(bytes.includes(Buffer.from('secret-holder'))).toBe(true); // the file is really being read
    }
    async function closedBytes(): Promise<Buffer> {
      await store.close();
      const bytes = fileBytes();
      store = openStore(tmp.file(), { clock: clock.now });
      expect(store.keys.verify(key)?.name).toBe('secret-holder');
      return bytes;
    }
  });

  it('verifies the exact key only', () => {
    const { key, record } = store.keys.create({ name: 'app', requests_per_minute: 60, monthly_budget_usd: 10 });
    expect(store.keys.verify(key)).toEqual(record);
    expect(store.keys.verify(`${key}x`)).toBeUndefined();
    expect(store.keys.verify(key.slice(0, -1) + (key.endsWith('A') ? 'B' : 'A'))).toBeUndefined();
    expect(store.keys.verify('sk-sy-short')).toBeUndefined();
    expect(store.keys.verify('')).toBeUndefined();
    expect(store.keys.verify(key.replace('sk-sy-', 'sk-xx-'))).toBeUndefined();
  });

  it('lists keys without secrets, with limits, times and spend', () => {
    const { key } = store.keys.create({ name: 'a', allowed_models: ['gpt-4.1-mini'], requests_per_minute: 5, daily_budget_usd: 1.5 });
    store.keys.create({ name: 'b' });
    const list = store.keys.list();
    expect(list.map((k) => k.name)).toEqual(['a', 'b']);
    for (const info of list) KeyInfoSchema.strict().parse(info);
    expect(list[0]).toMatchObject({
      allowed_models: ['gpt-4.1-mini'],
      requests_per_minute: 5,
      daily_budget_usd: 1.5,
      monthly_budget_usd: null,
      created_at: new Date(clock.now()).toISOString(),
      revoked_at: null,
      spend_today_usd: 0,
      spend_month_usd: 0,
    });
    expect(JSON.stringify(list)).not.toContain(key.slice(12));
  });

  it('revokes by id, by display prefix (with or without the ellipsis) and by full key', () => {
    expect(store.keys.everCreated()).toBe(false);
    const keys = [1, 2, 3].map((n) => store.keys.create({ name: `k${n}` }));
    expect(store.keys.count()).toBe(3);
    clock.advance(1000);
    const byId = store.keys.revoke(keys[0]!.record.id);
    expect(byId.revoked_at).toBe(clock.now());
    store.keys.revoke(keys[1]!.record.prefix);
    store.keys.revoke(keys[2]!.key);
    for (const k of keys) expect(store.keys.verify(k.key)).toBeUndefined();
    expect(store.keys.count()).toBe(0);
    expect(store.keys.everCreated()).toBe(true);
    expect(store.keys.list().every((k) => k.revoked_at !== null)).toBe(true);
    // Revoking again keeps the first revocation time.
    clock.advance(1000);
    expect(store.keys.revoke(keys[0]!.record.prefix.replace('…', '')).revoked_at).toBe(byId.revoked_at);
  });

  it('answers 404 for unknown keys without echoing the text, and 409 for an ambiguous prefix', () => {
    const a = store.keys.create({ name: 'a' });
    const b = store.keys.create({ name: 'b' });
    const err = catchError(() => store.keys.revoke('sk-sy-doesnotexistdoesnotexistdoesnotexist00'));
    expect(err).toBeInstanceOf(GatewayError);
    expect(err).toMatchObject({ status: 404, code: 'key_not_found' });
    expect(err.message).not.toContain('doesnotexist');

    const side = new Database(tmp.file());
    side.prepare("UPDATE keys SET prefix = 'sk-sy-SAME00'").run();
    side.close();
    const ambiguous = catchError(() => store.keys.revoke('sk-sy-SAME00…'));
    expect(ambiguous).toMatchObject({ status: 409, code: 'ambiguous_key' });
    expect(ambiguous.message).toContain(a.record.id);
    expect(ambiguous.message).toContain(b.record.id);
  });

  it('rejects invalid limits with zod, naming the field', () => {
    expect(() => store.keys.create({ name: '' })).toThrow(/name/);
    expect(() => store.keys.create({ name: 'x', requests_per_minute: 0 })).toThrow(/requests_per_minute/);
    expect(() => store.keys.create({ name: 'x', allowed_models: [] })).toThrow(/list at least one model/);
    expect(() => store.keys.create({ name: 'x', daily_budget_usd: -1 })).toThrow(/daily_budget_usd/);
  });

  it('sees keys created or revoked by another process at once (no stale cache)', () => {
    const other = openStore(tmp.file());
    try {
      const { key } = other.keys.create({ name: 'from-cli' });
      expect(store.keys.verify(key)?.name).toBe('from-cli');
      other.keys.revoke(other.keys.list()[0]!.id);
      expect(store.keys.verify(key)).toBeUndefined();
    } finally {
      void other.close();
    }
  });

  it('records the schema version, reopens idempotently and refuses a newer schema', async () => {
    await store.close();
    store = openStore(tmp.file());
    await store.close();
    const db = new Database(tmp.file());
    expect(db.prepare('SELECT version FROM schema_version').all()).toEqual([{ version: SCHEMA_VERSION }]);
    expect(db.pragma('journal_mode', { simple: true })).toBe('wal');
    db.prepare('UPDATE schema_version SET version = ?').run(SCHEMA_VERSION + 1);
    db.close();
    expect(() => openStore(tmp.file())).toThrow(/newer Switchyard/);
    store = openStore(':memory:');
  });
});

function catchError(fn: () => unknown): Error & { status?: number; code?: string | null } {
  try {
    fn();
  } catch (err) {
    return err as Error;
  }
  throw new Error('expected an error');
}
