/**
 * Gateway API keys (`sk-sy-...`): created once, stored only as a keyed hash, verified per request.
 * Exports: `KeyCreateSchema`, `KeyCreateInput`, `KeyRecordSchema`, `KeyRecord`, `KeyInfoSchema`,
 * `KeyInfo`, `KeyStore`, `createKeyStore(db, deps)`, `KEY_PREFIX`, `looksLikeGatewayKey`.
 *
 * Why SHA-256 over a per-store pepper and the key, not scrypt: a key carries 256 random bits, so
 * the hash cannot be brute-forced however fast it is; a slow password hash would only add ~50 ms
 * of CPU to every request. (HMAC would add nothing here and its per-call setup costs ~10x a plain
 * hash.) Hashing is deterministic, so the lookup is one indexed read of a UNIQUE column (O(1) per
 * request), followed by a constant-time comparison. The pepper (random, stored in the file) makes
 * the stored hashes useless outside this store. Each verify reads the row, so a key revoked by the
 * CLI in another process stops working on the next request.
 */
import { hash, randomBytes, timingSafeEqual } from 'node:crypto';
import type Database from 'better-sqlite3';
import { z } from 'zod';
import { GatewayError } from '../../core/errors';
import { roundUsd } from '../../core/routing/cost';
import type { Clock } from './time';

export const KEY_PREFIX = 'sk-sy-';
const KEY_SHAPE = /^sk-sy-[A-Za-z0-9_-]{32,128}$/;
/** Random characters of the key kept in clear, so people can tell their keys apart. */
const SHOWN_CHARS = 6;

export const KeyCreateSchema = z.strictObject({
  name: z.string().trim().min(1, 'give the key a name').max(100),
  allowed_models: z
    .array(z.string().trim().min(1))
    .min(1, 'list at least one model, or leave the list out to allow every model')
    .optional(),
  requests_per_minute: z.number().int().positive().max(100_000).optional(),
  daily_budget_usd: z.number().positive().max(1e9).optional(),
  monthly_budget_usd: z.number().positive().max(1e9).optional(),
});
export type KeyCreateInput = z.input<typeof KeyCreateSchema>;

export const KeyRecordSchema = z.object({
  id: z.string(),
  name: z.string(),
  /** The key's first characters and an ellipsis, e.g. `sk-sy-Ab12Cd…`; never the secret. */
  prefix: z.string(),
  /** Model names or globs (`openai/*`); null allows every model. */
  allowed_models: z.array(z.string()).nullable(),
  requests_per_minute: z.number().int().nullable(),
  daily_budget_usd: z.number().nullable(),
  monthly_budget_usd: z.number().nullable(),
  /** Epoch milliseconds. */
  created_at: z.number(),
  revoked_at: z.number().nullable(),
});
export type KeyRecord = z.infer<typeof KeyRecordSchema>;

/** What list() and the admin API show: no secret, ISO times, spend in the current UTC periods. */
export const KeyInfoSchema = KeyRecordSchema.extend({
  created_at: z.string(),
  revoked_at: z.string().nullable(),
  spend_today_usd: z.number(),
  spend_month_usd: z.number(),
});
export type KeyInfo = z.infer<typeof KeyInfoSchema>;

export interface KeyStore {
  /** Creates a key; `key` is the only time the plaintext exists outside the caller's hands. */
  create(input: KeyCreateInput): { record: KeyRecord; key: string };
  /** Every key, revoked ones included, oldest first. */
  list(): KeyInfo[];
  /** Revokes by id, display prefix (`sk-sy-Ab12Cd` with or without `…`) or full key; 404/409 GatewayError otherwise. */
  revoke(idOrPrefix: string): KeyRecord;
  /** The active key a plaintext belongs to, or undefined (unknown, malformed or revoked). */
  verify(plaintext: string): KeyRecord | undefined;
  /** Number of active (not revoked) keys. */
  count(): number;
  /** True once any key was created, revoked ones included: from then on the gateway requires keys. */
  everCreated(): boolean;
}

export interface KeyStoreDeps {
  clock: Clock;
  /** Spend of a key in the current UTC day and month, from the usage store's running totals. */
  spendOf(keyId: string): { today: number; month: number };
}

interface KeyRow {
  id: string;
  name: string;
  prefix: string;
  hash: Buffer;
  allowed_models: string | null;
  requests_per_minute: number | null;
  daily_budget_usd: number | null;
  monthly_budget_usd: number | null;
  created_at: number;
  revoked_at: number | null;
}

export function looksLikeGatewayKey(text: string): boolean {
  return text.startsWith(KEY_PREFIX);
}

export function createKeyStore(db: Database.Database, deps: KeyStoreDeps): KeyStore {
  const pepperRow = db.prepare('SELECT value FROM meta WHERE name = ?').get('key_pepper') as { value: Buffer } | undefined;
  if (!pepperRow) throw new Error('The store has no key pepper; the file is damaged.');
  const pepper = pepperRow.value;
  const hashOf = (plaintext: string): Buffer => hash('sha256', Buffer.concat([pepper, Buffer.from(plaintext)]), 'buffer');

  const insert = db.prepare(`INSERT INTO keys (id, name, prefix, hash, allowed_models, requests_per_minute,
    daily_budget_usd, monthly_budget_usd, created_at, revoked_at)
    VALUES (@id, @name, @prefix, @hash, @allowed_models, @requests_per_minute, @daily_budget_usd,
    @monthly_budget_usd, @created_at, NULL)`);
  const byHash = db.prepare('SELECT * FROM keys WHERE hash = ?');
  const byId = db.prepare('SELECT * FROM keys WHERE id = ?');
  const byPrefix = db.prepare('SELECT * FROM keys WHERE prefix = ?');
  const all = db.prepare('SELECT * FROM keys ORDER BY created_at, rowid');
  const revokeStmt = db.prepare('UPDATE keys SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL');
  const countActive = db.prepare('SELECT COUNT(*) AS n FROM keys WHERE revoked_at IS NULL').pluck();
  const anyKey = db.prepare('SELECT 1 FROM keys LIMIT 1').pluck();

  const findOne = (idOrPrefix: string): KeyRow => {
    const text = idOrPrefix.trim().replace(/(…|\.\.\.)$/, '');
    if (KEY_SHAPE.test(text)) {
      const row = byHash.get(hashOf(text)) as KeyRow | undefined;
      if (row) return row;
    }
    const row = byId.get(text) as KeyRow | undefined;
    if (row) return row;
    const matches = byPrefix.all(text) as KeyRow[];
    if (matches.length === 1) return matches[0]!;
    if (matches.length > 1) {
      throw new GatewayError(409, `That prefix matches ${matches.length} keys; use the id instead (${matches.map((m) => m.id).join(', ')}).`, {
        code: 'ambiguous_key',
      });
    }
    // The text is not echoed: it may be a mistyped secret.
    throw new GatewayError(404, 'No key has that id or prefix; list keys with `switchyard keys list` or GET /admin/keys.', {
      code: 'key_not_found',
    });
  };

  return {
    create(input) {
      const parsed = KeyCreateSchema.parse(input);
      const key = KEY_PREFIX + randomBytes(32).toString('base64url');
      const row: KeyRow = {
        id: `key_${randomBytes(8).toString('hex')}`,
        name: parsed.name,
        prefix: key.slice(0, KEY_PREFIX.length + SHOWN_CHARS),
        hash: hashOf(key),
        allowed_models: parsed.allowed_models ? JSON.stringify(parsed.allowed_models) : null,
        requests_per_minute: parsed.requests_per_minute ?? null,
        daily_budget_usd: parsed.daily_budget_usd ?? null,
        monthly_budget_usd: parsed.monthly_budget_usd ?? null,
        created_at: deps.clock(),
        revoked_at: null,
      };
      insert.run(row);
      return { record: toRecord(row), key };
    },

    list() {
      return (all.all() as KeyRow[]).map((row) => toInfo(toRecord(row), deps.spendOf(row.id)));
    },

    revoke(idOrPrefix) {
      const row = findOne(idOrPrefix);
      if (row.revoked_at === null) {
        row.revoked_at = deps.clock();
        revokeStmt.run(row.revoked_at, row.id);
      }
      return toRecord(row);
    },

    verify(plaintext) {
      if (!KEY_SHAPE.test(plaintext)) return undefined;
      const hash = hashOf(plaintext);
      const row = byHash.get(hash) as KeyRow | undefined;
      if (!row || row.hash.length !== hash.length || !timingSafeEqual(row.hash, hash)) return undefined;
      return row.revoked_at === null ? toRecord(row) : undefined;
    },

    count() {
      return countActive.get() as number;
    },
    everCreated() {
      return anyKey.get() !== undefined;
    },
  };
}

function toRecord(row: KeyRow): KeyRecord {
  return {
    id: row.id,
    name: row.name,
    prefix: `${row.prefix}…`,
    allowed_models: row.allowed_models === null ? null : (JSON.parse(row.allowed_models) as string[]),
    requests_per_minute: row.requests_per_minute,
    daily_budget_usd: row.daily_budget_usd,
    monthly_budget_usd: row.monthly_budget_usd,
    created_at: row.created_at,
    revoked_at: row.revoked_at,
  };
}

/** The public view of a key record (ISO times, current spend). */
export function toInfo(record: KeyRecord, spend: { today: number; month: number }): KeyInfo {
  return {
    ...record,
    created_at: new Date(record.created_at).toISOString(),
    revoked_at: record.revoked_at === null ? null : new Date(record.revoked_at).toISOString(),
    spend_today_usd: roundUsd(spend.today),
    spend_month_usd: roundUsd(spend.month),
  };
}

