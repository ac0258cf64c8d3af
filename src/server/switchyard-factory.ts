import type { Switchyard } from '../core/gateway';
import { createSwitchyard, type RoutingSwitchyard } from '../core/routing/switchyard';
import { createDemoAdapter } from '../providers/demo';
import { resolveProviders, type ProviderRuntime } from '../providers/registry';
import { ConfigError, type ServerConfig } from './config';
import { resolveEffectiveConfig, type DefaultsOptions, type ProviderMode } from './defaults';
import type { CircuitState } from './metrics';
import { rememberAttempts } from './story';

type Env = Record<string, string | undefined>;

export interface BuiltSwitchyard {
  switchyard: Switchyard;
  mode: ProviderMode;
  notes: string[];
  /** Names of the providers it routes to. */
  providers: string[];
  runtimes: ProviderRuntime[];
}

export interface BuildOptions extends DefaultsOptions {
  env?: Env;
}

/**
 * The routing core for a server configuration: default providers filled in (Ollama or demo),
 * demo options applied, attempts of failed calls remembered for error bodies.
 * Anything the core rejects is reported as a ConfigError.
 */
export async function buildSwitchyard(config: ServerConfig, opts: BuildOptions = {}): Promise<BuiltSwitchyard> {
  const env = opts.env ?? process.env;
  const effective = await resolveEffectiveConfig(config, { ...opts, env });
  const { server, flows: _flows, webhooks: _webhooks, ...core } = effective.config;
  let switchyard: RoutingSwitchyard;
  let runtimes: ProviderRuntime[];
  try {
    runtimes = resolveProviders(core, env);
    for (const r of runtimes) {
      if (r.type === 'demo') {
        r.adapter = createDemoAdapter({ name: r.name, failureRate: server.demo.failure_rate, latencyScale: server.demo.latency_scale, seed: server.demo.seed });
      }
    }
    switchyard = createSwitchyard(core, { env, runtimes });
  } catch (err) {
    throw new ConfigError('configuration', [(err as Error).message]);
  }
  switchyard.on('failure', (f) => rememberAttempts(f.error, f.attempts));
  return { switchyard, mode: effective.mode, notes: effective.notes, providers: runtimes.map((r) => r.name), runtimes };
}

/** Circuit states for /metrics, when the Switchyard exposes its health. */
export function circuitStates(switchyard: Switchyard): CircuitState[] {
  const health = (switchyard as Partial<RoutingSwitchyard>).health;
  if (typeof health !== 'function') return [];
  return health.call(switchyard).map((h) => ({ key: h.key, provider: h.key.split('/')[0] ?? '', open: h.state === 'open' }));
}
