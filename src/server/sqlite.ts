/**
 * Opens a SQLite file (WAL) and brings its schema up to date with an append-only list of
 * migrations; shared by the usage/keys store and the webhook job queue, each in its own file.
 */
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';

export type Db = Database.Database;

/** Each entry moves the schema one version up; never edit a shipped entry, append a new one. */
export type Migrations = ReadonlyArray<(db: Db) => void>;

export interface OpenOptions {
  migrations: Migrations;
  /** `NORMAL` survives process crashes in WAL mode; `FULL` also survives power loss. */
  synchronous: 'NORMAL' | 'FULL';
  /** What the file is, for the "written by a newer Switchyard" error. */
  label: string;
}

export function openMigratedDatabase(path: string, opts: OpenOptions): Db {
  if (path !== ':memory:') mkdirSync(dirname(path), { recursive: true });
  const db = new Database(path);
  try {
    db.pragma('busy_timeout = 5000');
    db.pragma('journal_mode = WAL');
    db.pragma(`synchronous = ${opts.synchronous}`);
    migrate(db, opts);
    return db;
  } catch (err) {
    db.close();
    throw err;
  }
}

function migrate(db: Db, { migrations, label }: OpenOptions): void {
  const target = migrations.length;
  db.exec('CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)');
  const apply = db.transaction(() => {
    const row = db.prepare('SELECT version FROM schema_version').get() as { version: number } | undefined;
    const current = row?.version ?? 0;
    if (current > target) {
      throw new Error(`The ${label} was written by a newer Switchyard (schema version ${current}, this one knows ${target}); upgrade Switchyard or use another file.`);
    }
    for (let v = current; v < target; v++) migrations[v]!(db);
    if (row) db.prepare('UPDATE schema_version SET version = ?').run(target);
    else db.prepare('INSERT INTO schema_version (version) VALUES (?)').run(target);
  });
  // IMMEDIATE: two processes (server and CLI) opening a fresh file at once must not both migrate.
  apply.immediate();
}
