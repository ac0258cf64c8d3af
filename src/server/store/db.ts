/**
 * Opens the SQLite file behind the store and brings its schema up to date.
 * Exports: `openDatabase(path)`, `SCHEMA_VERSION`.
 *
 * WAL mode lets the CLI (keys, usage) read and write while the server runs; `synchronous=NORMAL`
 * is durable across process crashes in WAL mode (only an OS crash can lose the last commits).
 */
import { randomBytes } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';

type Db = Database.Database;

/** Each entry moves the schema one version up; never edit a shipped entry, append a new one. */
const MIGRATIONS: ReadonlyArray<(db: Db) => void> = [
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
  if (path !== ':memory:') mkdirSync(dirname(path), { recursive: true });
  const db = new Database(path);
  try {
    db.pragma('busy_timeout = 5000');
    db.pragma('journal_mode = WAL');
    db.pragma('synchronous = NORMAL');
    migrate(db);
    return db;
  } catch (err) {
    db.close();
    throw err;
  }
}

function migrate(db: Db): void {
  db.exec('CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)');
  const apply = db.transaction(() => {
    const row = db.prepare('SELECT version FROM schema_version').get() as { version: number } | undefined;
    const current = row?.version ?? 0;
    if (current > SCHEMA_VERSION) {
      throw new Error(
        `The store was written by a newer Switchyard (schema version ${current}, this one knows ${SCHEMA_VERSION}); upgrade Switchyard or use another store file.`,
      );
    }
    for (let v = current; v < SCHEMA_VERSION; v++) MIGRATIONS[v]!(db);
    if (row) db.prepare('UPDATE schema_version SET version = ?').run(SCHEMA_VERSION);
    else db.prepare('INSERT INTO schema_version (version) VALUES (?)').run(SCHEMA_VERSION);
  });
  // IMMEDIATE: two processes opening a fresh file at once must not both run migration 1.
  apply.immediate();
}
