/**
 * What the store commands (`keys`, `usage`) share: where the store is, how it is opened,
 * and how a failure is reported.
 * Exports: `StoreCommandOptions`, `addStoreOption`, `withStore`, `fail`.
 */
import type { Command } from 'commander';
import { GatewayError } from '../core/errors';
import { openStore, resolveStorePath, type Store, type StoreOptions } from '../server/store';

export interface StoreCommandOptions {
  /** The configured store path (`server.store_path`), or a function reading it when a command runs. */
  storePath?: string | (() => string | undefined);
  /** Where normal output goes, one line per call; default console.log. */
  out?: (line: string) => void;
  /** Options for openStore (tests inject a clock). */
  storeOptions?: StoreOptions;
}

export function addStoreOption(cmd: Command): Command {
  return cmd.option('--store <path>', 'store file (default: $SWITCHYARD_STORE, the configured store_path, or ./switchyard.sqlite)');
}

/** Opens the store for one command and always closes it. */
export async function withStore<T>(cmd: Command, opts: StoreCommandOptions, run: (store: Store) => T): Promise<T> {
  const flag = (cmd.optsWithGlobals() as { store?: string }).store;
  const configured = typeof opts.storePath === 'function' ? opts.storePath() : opts.storePath;
  const path = resolveStorePath(flag, configured);
  let store: Store;
  try {
    store = openStore(path, opts.storeOptions);
  } catch (err) {
    return failRun(cmd, `cannot open the store at ${path}: ${err instanceof Error ? err.message : String(err)}`);
  }
  let result: T;
  try {
    result = run(store);
  } catch (err) {
    await store.close();
    // Closed first: cmd.error may end the process.
    if (err instanceof GatewayError) return failRun(cmd, err.message);
    throw err;
  }
  await store.close();
  return result;
}

/**
 * Reports a user error through commander (exit code 1, or a thrown CommanderError under exitOverride).
 * Several problems are printed one per line, each as its own `error: ...` line.
 */
export function fail(cmd: Command, message: string | readonly string[]): never {
  const lines = typeof message === 'string' ? [message] : message;
  const text = lines.map((line) => `error: ${line}`).join('\n');
  cmd.error(text, { exitCode: 1, code: 'switchyard.error' });
  throw new Error(text); // unreachable: cmd.error exits or throws
}

/**
 * A command that ran and failed (no such key, no such job, a store that cannot open): only the
 * `error:` line and exit code 1. The program shows the usage after errors, which helps when the
 * command line itself is wrong (`fail`), not here.
 */
export function failRun(cmd: Command, message: string): never {
  cmd.showHelpAfterError(false);
  return fail(cmd, message);
}
