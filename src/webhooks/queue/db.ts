/**
 * The job queue's SQLite file: its own file (not the keys/usage store), WAL, and
 * `synchronous = FULL`, so an event acknowledged to a platform survives even a power cut:
 * each enqueue is one small fsync'd commit, cheap at webhook rates.
 */
import { openMigratedDatabase, type Db, type Migrations } from '../../server/sqlite';

const MIGRATIONS: Migrations = [
  (db) => {
    db.exec(`
      CREATE TABLE jobs (
        id TEXT PRIMARY KEY,
        flow TEXT NOT NULL,
        source TEXT NOT NULL,
        dedupe_key TEXT NOT NULL,
        state TEXT NOT NULL CHECK (state IN ('pending', 'running', 'done', 'dead')),
        payload TEXT NOT NULL,
        result TEXT,
        attempts INTEGER NOT NULL DEFAULT 0,
        max_attempts INTEGER NOT NULL,
        run_at INTEGER NOT NULL,
        lease_owner TEXT,
        lease_until INTEGER,
        last_error TEXT,
        effect TEXT,
        created_at INTEGER NOT NULL,
        updated_at INTEGER NOT NULL,
        finished_at INTEGER,
        UNIQUE (flow, dedupe_key)
      );
      CREATE INDEX jobs_due ON jobs (state, run_at);
      CREATE INDEX jobs_lease ON jobs (state, lease_until);
      CREATE INDEX jobs_finished ON jobs (state, finished_at);
    `);
  },
  // The hash of the body a caller-chosen idempotency key came with (generic flows); NULL otherwise.
  (db) => {
    db.exec('ALTER TABLE jobs ADD COLUMN body_sha256 TEXT');
  },
  // Dedupe keys of pruned jobs, as SHA-256(flow NUL key) only (no key, no payload): kept for
  // webhooks.dedupe_days, so a replay of a pruned job's delivery is still a duplicate.
  (db) => {
    db.exec(`
      CREATE TABLE seen_keys (
        key_hash BLOB PRIMARY KEY,
        flow TEXT NOT NULL,
        seen_at INTEGER NOT NULL
      ) WITHOUT ROWID;
      CREATE INDEX seen_keys_seen_at ON seen_keys (seen_at);
    `);
  },
];

export const QUEUE_SCHEMA_VERSION = MIGRATIONS.length;

export function openQueueDatabase(path: string): Db {
  return openMigratedDatabase(path, { migrations: MIGRATIONS, synchronous: 'FULL', label: 'job queue' });
}
