/**
 * The job queue's SQLite file: its own file (not the keys/usage store), WAL, and
 * `synchronous = FULL`, so an event acknowledged to a platform survives even a power cut:
 * each enqueue is one small fsync'd commit, cheap at webhook rates.
 */
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';

type Db = Database.Database;

/** Each entry moves the schema one version up; never edit a shipped entry, append a new one. */
const MIGRATIONS: ReadonlyArray<(db: Db) => void> = [
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
];

export const QUEUE_SCHEMA_VERSION = MIGRATIONS.length;

export function openQueueDatabase(path: string): Db {
  if (path !== ':memory:') mkdirSync(dirname(path), { recursive: true });
  const db = new Database(path);
  try {
    db.pragma('journal_mode = WAL');
    db.pragma('synchronous = FULL');
    db.pragma('busy_timeout = 5000');
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
    if (current > QUEUE_SCHEMA_VERSION) {
      throw new Error(`The job queue was written by a newer Switchyard (schema version ${current}, this one knows ${QUEUE_SCHEMA_VERSION}).`);
    }
    for (let v = current; v < QUEUE_SCHEMA_VERSION; v++) MIGRATIONS[v]!(db);
    if (row) db.prepare('UPDATE schema_version SET version = ?').run(QUEUE_SCHEMA_VERSION);
    else db.prepare('INSERT INTO schema_version (version) VALUES (?)').run(QUEUE_SCHEMA_VERSION);
  });
  // IMMEDIATE: a server and the CLI opening a fresh file at once must not both migrate.
  apply.immediate();
}
