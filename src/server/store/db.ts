/**
 * Opens the SQLite file behind the store and brings its schema up to date.
 * Exports: `openDatabase(path)`, `SCHEMA_VERSION`.
 *
 * WAL mode lets the CLI (keys, usage) read and write while the server runs; `synchronous=NORMAL`
 * keeps what was committed across a process crash (only an OS crash can lose the last commits).
 * Usage rows still buffered for their batch (up to flushIntervalMs) are lost in a crash.
 */
import { randomBytes } from 'node:crypto';
import { openMigratedDatabase, type Db, type Migrations } from '../sqlite';

const MIGRATIONS: Migrations = [
  (db) => {
    db.exec(`
      CREATE TABLE meta (name TEXT PRIMARY KEY, value BLOB NOT NULL);
      CREATE TABLE keys (
        id TEXT PRIMARY KEY,
        name TEXT NOT NULL,
        prefix TEXT NOT NULL,
        hash BLOB NOT NULL UNIQUE,
        allowed_models TEXT,
        requests_per_minute INTEGER,
        daily_budget_usd REAL,
        monthly_budget_usd REAL,
        created_at INTEGER NOT NULL,
        revoked_at INTEGER
      );
      CREATE INDEX keys_prefix ON keys(prefix);
      CREATE TABLE usage (
        id INTEGER PRIMARY KEY,
        time INTEGER NOT NULL,
        key_id TEXT,
        requested_model TEXT NOT NULL,
        model TEXT,
        provider TEXT,
        attempts INTEGER NOT NULL,
        fallbacks INTEGER NOT NULL,
        prompt_tokens INTEGER NOT NULL,
        completion_tokens INTEGER NOT NULL,
        cost_usd REAL NOT NULL,
        ttft_ms REAL,
        latency_ms REAL NOT NULL,
        status INTEGER NOT NULL,
        error_kind TEXT,
        cache_hit INTEGER NOT NULL,
        source TEXT NOT NULL,
        prompt TEXT,
        completion TEXT
      );
      CREATE INDEX usage_time ON usage(time);
      CREATE INDEX usage_key_time ON usage(key_id, time);
    `);
    // The pepper keys the hash of every gateway key (see keys.ts); it never leaves this file.
    db.prepare('INSERT INTO meta (name, value) VALUES (?, ?)').run('key_pepper', randomBytes(32));
  },
];

export const SCHEMA_VERSION = MIGRATIONS.length;

export function openDatabase(path: string): Db {
  return openMigratedDatabase(path, { migrations: MIGRATIONS, synchronous: 'NORMAL', label: 'store' });
}
