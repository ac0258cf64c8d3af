import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { closeUpstreamPools } from '../core/http';
import { createAccessControl, type AccessControl } from './access';
import { createApp, type App } from './app';
import { ConfigError, loadServerConfig, type LoadConfigOptions, type ServerConfig } from './config';
import type { ProviderMode } from './defaults';
import { SwitchyardHolder } from './holder';
import { createLogger, type Logger } from './log';
import { Metrics } from './metrics';
import { openStore, resolveStorePath, type Store } from './store';
import { buildSwitchyard, circuitStates, type BuildOptions, type BuiltSwitchyard } from './switchyard-factory';
import type { Webhooks, WithSwitchyard } from '../webhooks';

type Env = Record<string, string | undefined>;

export interface StartOptions extends Omit<LoadConfigOptions, 'env'> {
  env?: Env;
  logger?: Logger;
  /** Store file; default from config / SWITCHYARD_STORE. Tests pass ':memory:'. */
  storePath?: string;
  /** Replaces the routing core built from config (tests). */
  build?: (config: ServerConfig) => Promise<BuiltSwitchyard>;
  /** Ollama probe transport (tests). */
  fetch?: BuildOptions['fetch'];
  /** Webhook job queue file; default from config / SWITCHYARD_QUEUE. */
  queuePath?: string;
}

export type ReloadResult = { ok: true; mode: ProviderMode; providers: string[] } | { ok: false; problems: string[] };

export interface RunningServer {
  readonly server: Server;
  readonly app: App;
  readonly url: string;
  readonly host: string;
  readonly port: number;
  readonly holder: SwitchyardHolder;
  readonly store: Store;
  /** Webhook flows (queue and workers), when the configuration has flows. */
  readonly webhooks?: Webhooks;
  config: ServerConfig;
  mode: ProviderMode;
  /** Re-reads the configuration and swaps in a new Switchyard; in-flight requests finish on the old one. */
  reload(): Promise<ReloadResult>;
  /** Stops accepting, drains in-flight requests, flushes usage, closes everything. */
  shutdown(): Promise<void>;
  /**
   * Shuts down without waiting out `server.shutdown_timeout_ms`: requests in flight are told at
   * once that the gateway is shutting down; usage rows are still flushed (a second stop signal).
   */
  hurry(): Promise<void>;
}

const LOOPBACK = new Set(['127.0.0.1', '::1', 'localhost']);

/**
 * Keys are required once any key was created, even after every key is revoked: revoking a leaked
 * key must never open the gateway. Asked per anonymous request; looking once a second is plenty.
 */
function keysRequired(store: Store, now: () => number = Date.now): () => boolean {
  let checkedAt = -Infinity;
  let value = false;
  return () => {
    const t = now();
    if (!value && t - checkedAt >= 1000) {
      value = store.keys.everCreated();
      checkedAt = t;
    }
    return value;
  };
}

/** Settings that only a restart applies. */
const RESTART_ONLY = ['port', 'host', 'store_path', 'admin_key', 'body_limit', 'log_level', 'log_prompts'] as const;

/** What a reload changed that it cannot apply: server settings, and the webhooks section (queue, workers). */
function restartOnlyChanges(current: ServerConfig, next: ServerConfig): string[] {
  const changed: string[] = RESTART_ONLY.filter((k) => JSON.stringify(next.server[k]) !== JSON.stringify(current.server[k])).map((k) => `server.${k}`);
  if (JSON.stringify(next.webhooks) !== JSON.stringify(current.webhooks)) changed.push('webhooks');
  return changed;
}

function listen(server: Server, port: number, host: string): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/**
 * Loads the configuration, builds the routing core, opens the store and listens.
 * Throws ConfigError (every problem listed) when the configuration is invalid.
 */
export async function startServer(opts: StartOptions = {}): Promise<RunningServer> {
  const env = opts.env ?? process.env;
  const loadOpts: LoadConfigOptions = { file: opts.file, env, cwd: opts.cwd, port: opts.port, host: opts.host };
  const { config } = loadServerConfig(loadOpts);
  const logger = opts.logger ?? createLogger({ level: config.server.log_level });
  const build = opts.build ?? ((c: ServerConfig) => buildSwitchyard(c, { env, fetch: opts.fetch }));
  const built = await build(config);
  const holder = new SwitchyardHolder(built.switchyard);

  const storePath = opts.storePath ?? resolveStorePath(undefined, config.server.store_path);
  const store = openStore(storePath, {
    logPrompts: config.server.log_prompts,
    onError: (err) => logger.error('writing usage rows failed; they stay buffered and are retried', { err }),
  });
  const requireKeys = keysRequired(store);
  const access: AccessControl = createAccessControl({ store, adminKey: config.server.admin_key, requireKeys });
  const metrics = new Metrics({ circuits: () => circuitStates(holder.current) });
  const webhooks = startWebhooks(config, holder, logger, env, opts.queuePath);
  const keysExist = requireKeys();
  const host = config.server.host ?? (keysExist ? '0.0.0.0' : '127.0.0.1');
  const localClientsOnly = LOOPBACK.has(host);
  const app = createApp({ holder, server: config.server, logger, metrics, store, access, webhooks: webhooks?.router, localClientsOnly });
  const server = createServer(app.app);
  try {
    await listen(server, config.server.port, host);
  } catch (err) {
    await webhooks?.close();
    await store.close();
    await holder.close();
    throw err;
  }
  const port = (server.address() as AddressInfo).port;
  const shownHost = host.includes(':') ? `[${host}]` : host;
  const url = `http://${shownHost === '0.0.0.0' ? '127.0.0.1' : shownHost}:${port}`;

  logger.info('switchyard listening', { url, host, port, providers: built.providers, mode: built.mode, models: built.switchyard.models().length, store: storePath });
  for (const note of built.notes) logger.info(note);
  if (webhooks) {
    webhooks.start();
    logger.info('webhook flows ready', { flows: Object.keys(config.flows), queue: webhooks.queue.path, workers: config.webhooks.workers });
  }
  if (!keysExist && config.server.host === undefined) {
    logger.info('no gateway API keys exist: listening on 127.0.0.1 only, without authentication; create one with `switchyard keys create --name NAME` to require keys and serve other hosts');
  } else if (!keysExist && !LOOPBACK.has(host)) {
    logger.warn(`no gateway API keys exist and host is ${host}: anyone who can reach this port can use your providers; create a key with \`switchyard keys create --name NAME\``);
  }

  let shuttingDown: Promise<void> | undefined;

  const drainState: DrainState = { hurried: false };
  const running: RunningServer = {
    server,
    app,
    url,
    host,
    port,
    holder,
    store,
    webhooks,
    config,
    mode: built.mode,
    async reload() {
      try {
        const next = loadServerConfig(loadOpts).config;
        const rebuilt = await build(next);
        const changed = restartOnlyChanges(running.config, next);
        if (changed.length > 0) logger.warn('configuration reloaded; these settings apply only after a restart', { settings: changed });
        void holder.swap(rebuilt.switchyard);
        if (webhooks) webhooks.reload(next.flows);
        else if (Object.keys(next.flows).length > 0) logger.warn('webhook flows were added: they are served after a restart', { flows: Object.keys(next.flows) });
        running.config = next;
        running.mode = rebuilt.mode;
        logger.info('configuration reloaded', { providers: rebuilt.providers, mode: rebuilt.mode, models: rebuilt.switchyard.models().length });
        return { ok: true, mode: rebuilt.mode, providers: rebuilt.providers };
      } catch (err) {
        const problems = err instanceof ConfigError ? err.problems : [(err as Error).message];
        logger.error('configuration reload failed; the previous configuration stays in use', { problems });
        return { ok: false, problems };
      }
    },
    shutdown() {
      // The configuration in use now: a reload may have changed the timeout.
      shuttingDown ??= drainAndClose(running, app, logger, running.config.server.shutdown_timeout_ms, drainState);
      return shuttingDown;
    },
    hurry() {
      if (!drainState.hurried) logger.warn('stop signal again: no longer waiting for requests in flight (a third signal exits at once)', { in_flight: holder.inFlight() });
      drainState.hurried = true;
      return running.shutdown();
    },
  };
  return running;
}

/** After the shutdown timeout, how long requests cut by it get to send their final error before connections close. */
const FINAL_BYTES_GRACE_MS = 1000;

interface DrainState {
  /** Set by a second stop signal: stop waiting for requests in flight. */
  hurried: boolean;
}

async function drainAndClose(running: RunningServer, app: App, logger: Logger, timeoutMs: number, state: DrainState): Promise<void> {
  const { server, holder, store, webhooks } = running;
  app.health.draining = true;
  // Workers stop taking jobs now; webhook requests still arriving are enqueued for the next start.
  const workersStopped = webhooks?.stop(timeoutMs);
  logger.info('shutting down: no new connections, waiting for in-flight requests', { in_flight: holder.inFlight() });
  let closed = false;
  const serverClosed = new Promise<void>((resolve) => server.close(() => resolve())).then(() => {
    closed = true;
  });
  /** Closes connections as they go idle until the server closed, `ms` passed or (`hurriable`) a second signal came. */
  const drain = async (ms: number, hurriable: boolean) => {
    const deadline = Date.now() + ms;
    while (!closed) {
      if (holder.inFlight() === 0) server.closeIdleConnections();
      if (Date.now() >= deadline || (hurriable && state.hurried)) return;
      await Promise.race([serverClosed, sleep(25)]);
    }
  };
  await drain(timeoutMs, true);
  if (!closed) {
    // Cut requests are told why (503, or an error event in a started stream) and recorded as 503, not as callers that left.
    const why = state.hurried ? 'stopped by a second signal' : 'shutdown timeout';
    logger.warn(`${why}: closing the remaining connections; requests still in flight are answered that the gateway is shutting down`, { in_flight: holder.inFlight() });
    app.abortInFlight();
    await drain(FINAL_BYTES_GRACE_MS, false);
    server.closeAllConnections();
  }
  await workersStopped;
  await webhooks?.close();
  await holder.close();
  await store.close();
  await closeUpstreamPools();
  logger.info('shutdown complete: usage rows flushed');
}

/** Webhook flows, when configured: model calls lease the current Switchyard like HTTP requests do. */
function startWebhooks(config: ServerConfig, holder: SwitchyardHolder, logger: Logger, env: Env, queuePath?: string): Webhooks | undefined {
  if (Object.keys(config.flows).length === 0) return undefined;
  const withSwitchyard: WithSwitchyard = (fn) => holder.use(fn);
  // Loaded only when flows exist: a gateway without them does not carry their modules (RSS).
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { createWebhooks } = require('../webhooks') as typeof import('../webhooks');
  return createWebhooks({ flows: config.flows, settings: config.webhooks, withSwitchyard, logger, env, queuePath });
}

/** SIGHUP reloads the configuration; SIGTERM and SIGINT shut down gracefully, then exit. */
export function installSignalHandlers(running: RunningServer, exit: (code: number) => void = (c) => process.exit(c)): () => void {
  const onHup = () => void running.reload();
  let stops = 0;
  // The first signal drains gracefully; a second stops waiting for requests in flight (their rows
  // are still written); a third exits at once.
  const onStop = () => {
    stops++;
    if (stops === 1) {
      running.shutdown().then(
        () => exit(0),
        () => exit(1),
      );
    } else if (stops === 2) void running.hurry();
    else exit(1);
  };
  process.on('SIGHUP', onHup);
  process.on('SIGTERM', onStop);
  process.on('SIGINT', onStop);
  return () => {
    process.off('SIGHUP', onHup);
    process.off('SIGTERM', onStop);
    process.off('SIGINT', onStop);
  };
}
