/**
 * The embedded store (SQLite, WAL): gateway keys and usage rows in one file.
 *
 * Exports for the server and the CLI:
 * - `openStore(path, opts?) -> Store` — `path` is a file path or ':memory:'. Schema created or
 *   migrated at open (`schema_version` table). One Store per process and file.
 * - `Store { keys: KeyStore; usage: UsageStore; path; close(): Promise<void> }` — close() flushes
 *   buffered usage rows, then closes the database; call it after in-flight requests drained.
 * - `StoreOptions { clock?, flushIntervalMs? (500), batchSize? (500), logPrompts? (false),
 *   maxBufferedRows? (100000), onError? }`.
 * - Re-exports the key and usage types, `usageRowFromStory`, `usageRowFromError`, `redactPii`.
 * - `resolveStorePath(flag?, configured?)`: --store flag > SWITCHYARD_STORE > configured > ./switchyard.sqlite.
 */
import { resolve } from 'node:path';
import type Database from 'better-sqlite3';
import { redactSecrets } from '../../core/errors';
import { openDatabase } from './db';
import { createKeyStore, type KeyStore } from './keys';
import { dayStart, monthStart, systemClock, type Clock } from './time';
import { createUsageStore, type UsageStore } from './usage';

export * from './keys';
export * from './usage';
export { redactPii } from './pii';
export type { Clock } from './time';

export interface StoreOptions {
  clock?: Clock;
  /** Longest time a usage row waits in memory before it is written. */
  flushIntervalMs?: number;
  /** Buffered rows that trigger an immediate write. */
  batchSize?: number;
  /** Keep prompts and completions (PII-redacted) in usage rows. */
  logPrompts?: boolean;
  maxBufferedRows?: number;
  /** Background write failures; the rows stay buffered and are retried. Default: console.error. */
  onError?: (err: unknown) => void;
}

export interface Store {
  readonly path: string;
  readonly keys: KeyStore;
  readonly usage: UsageStore;
  /** Flushes pending usage rows and closes the database. Idempotent. */
  close(): Promise<void>;
}

export const DEFAULT_STORE_PATH = './switchyard.sqlite';

export function resolveStorePath(flag?: string, configured?: string): string {
  return flag || process.env.SWITCHYARD_STORE || configured || DEFAULT_STORE_PATH;
}

export function openStore(path: string, opts: StoreOptions = {}): Store {
  const clock = opts.clock ?? systemClock;
  const db: Database.Database = openDatabase(path === ':memory:' ? path : resolve(path));
  try {
    const usage = createUsageStore(db, {
      clock,
      flushIntervalMs: opts.flushIntervalMs ?? 500,
      batchSize: opts.batchSize ?? 500,
      logPrompts: opts.logPrompts ?? false,
      maxBufferedRows: opts.maxBufferedRows ?? 100_000,
      onError: opts.onError ?? defaultOnError,
    });
    const keys = createKeyStore(db, {
      clock,
      spendOf: (keyId) => {
        const now = clock();
        return { today: usage.spendSince(keyId, dayStart(now)), month: usage.spendSince(keyId, monthStart(now)) };
      },
    });
    let closing: Promise<void> | undefined;
    return {
      path,
      keys,
      usage,
      close() {
        closing ??= usage.close().finally(() => db.close());
        return closing;
      },
    };
  } catch (err) {
    db.close();
    throw err;
  }
}

function defaultOnError(err: unknown): void {
  const message = err instanceof Error ? err.message : String(err);
  console.error(`switchyard: writing usage rows failed, they stay buffered and are retried: ${redactSecrets(message)}`);
}
