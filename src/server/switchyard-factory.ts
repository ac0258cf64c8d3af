import type { Switchyard } from '../core/gateway';
import { createSwitchyard, type RoutingSwitchyard } from '../core/routing/switchyard';
import { ModelOverrideSchema, type ModelOverride } from '../core/config';
import { createDemoAdapter, DEMO_MODELS } from '../providers/demo';
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
    const demoPriors = demoLatencyPriors(runtimes, core.models, server.demo.latency_scale);
    switchyard = createSwitchyard({ ...core, models: [...core.models, ...demoPriors] }, { env, runtimes });
  } catch (err) {
    throw new ConfigError('configuration', [(err as Error).message]);
  }
  switchyard.on('failure', (f) => rememberAttempts(f.error, f.attempts));
  return { switchyard, mode: effective.mode, notes: effective.notes, providers: runtimes.map((r) => r.name), runtimes };
}

/** Fastest prior the catalog accepts (it wants positive numbers) when latency_scale is 0. */
const INSTANT = { ttft_ms: 1, tokens_per_second: 1_000_000 };

/**
 * The demo models' latency priors scaled like their simulated delays (server.demo.latency_scale),
 * so plans and `route --explain` estimate what the demo really takes. Appended after the user's
 * models (their indices stay those of the config file); a latency_prior the user set wins.
 */
function demoLatencyPriors(runtimes: ProviderRuntime[], configured: ModelOverride[], scale: number): ModelOverride[] {
  const userSet = new Set(configured.filter((m) => m.latency_prior).map((m) => m.key));
  const priors: ModelOverride[] = [];
  for (const r of runtimes) {
    if (r.type !== 'demo') continue;
    for (const [id, profile] of Object.entries(DEMO_MODELS)) {
      const key = `${r.name}/${id}`;
      if (userSet.has(key)) continue;
      const latency_prior =
        scale > 0
          ? { ttft_ms: Math.max(INSTANT.ttft_ms, profile.ttftMs * scale), tokens_per_second: Math.min(INSTANT.tokens_per_second, profile.tokensPerSecond / scale) }
          : INSTANT;
      priors.push(ModelOverrideSchema.parse({ key, latency_prior }));
    }
  }
  return priors;
}

/** Circuit states for /metrics, when the Switchyard exposes its health. */
export function circuitStates(switchyard: Switchyard): CircuitState[] {
  const health = (switchyard as Partial<RoutingSwitchyard>).health;
  if (typeof health !== 'function') return [];
  return health.call(switchyard).map((h) => ({ key: h.key, provider: h.key.split('/')[0] ?? '', open: h.state === 'open' }));
}
