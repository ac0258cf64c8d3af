import type { ProviderAdapter, ProviderCredentials } from '../core/adapter';
import { HttpUrlSchema, type CoreConfig, type ProviderConfig, type ProviderLimits } from '../core/config';
import { AnthropicAdapter } from './anthropic';
import { GEMINI_DEFAULT_BASE_URL, GeminiAdapter } from './gemini';
import { COMPATIBLE_PRESETS, createCompatibleAdapter, type CompatiblePreset } from './openai-compatible';
import { createDemoAdapter } from './demo';
import { createLocalAdapter } from './local';

/** A provider ready to be called: its adapter, where it lives and with which key. */
export interface ProviderRuntime {
  name: string;
  type: ProviderConfig['type'];
  adapter: ProviderAdapter;
  credentials: ProviderCredentials;
  limits?: ProviderLimits;
}

export type AdapterFactory = (name: string, config: ProviderConfig) => ProviderAdapter;

/**
 * Adapter families by config `type`. Families register themselves here so that this file
 * needs no knowledge of each one (see providers/index.ts).
 */
export const ADAPTER_FACTORIES: Partial<Record<ProviderConfig['type'], AdapterFactory>> = {
  openai: (name) => createCompatibleAdapter('openai', name),
  'openai-compatible': (name, cfg) => createCompatibleAdapter(cfg.preset ?? name, name),
  demo: (name) => createDemoAdapter({ name }),
  local: (name, cfg) => createLocalAdapter(name, cfg),
  gemini: (name) => new GeminiAdapter(name),
  anthropic: (name) => new AnthropicAdapter(name),
};

/** Default base URL and key env vars of the non-OpenAI-shaped families. */
export const NATIVE_FAMILIES: Record<string, { type: ProviderConfig['type']; defaultBaseUrl: string; apiKeyEnv: string[] }> = {
  anthropic: { type: 'anthropic', defaultBaseUrl: 'https://api.anthropic.com', apiKeyEnv: ['ANTHROPIC_API_KEY'] },
  gemini: { type: 'gemini', defaultBaseUrl: GEMINI_DEFAULT_BASE_URL, apiKeyEnv: ['GEMINI_API_KEY', 'GOOGLE_API_KEY'] },
};

type Env = Record<string, string | undefined>;

function envKey(names: string[], env: Env): string | undefined {
  for (const n of names) if (env[n]) return env[n];
  return undefined;
}

function baseUrlEnvName(name: string): string {
  return `${name.toUpperCase().replace(/-/g, '_')}_BASE_URL`;
}

/**
 * `<NAME>_BASE_URL`. Local servers are usually given by their root (`OLLAMA_BASE_URL=http://localhost:11434`,
 * as Ollama's own tools expect); for keyless presets the OpenAI-compatible API under /v1 is meant.
 */
function baseUrlEnv(name: string, env: Env, preset?: CompatiblePreset): string | undefined {
  const base = env[baseUrlEnvName(name)] || undefined;
  if (!base || !preset?.keyless) return base;
  const root = base.replace(/\/+$/, '');
  return /\/v1$/.test(root) ? root : `${root}/v1`;
}

/** Providers switched on by conventional environment variables alone. */
export function providersFromEnv(env: Env): Record<string, ProviderConfig> {
  const found: Record<string, ProviderConfig> = {};
  for (const [name, fam] of Object.entries(NATIVE_FAMILIES)) {
    const key = envKey(fam.apiKeyEnv, env);
    if (key) found[name] = { type: fam.type, api_key: key, base_url: baseUrlEnv(name, env), enabled: true };
  }
  for (const preset of Object.values(COMPATIBLE_PRESETS)) {
    const key = envKey(preset.apiKeyEnv, env);
    const base = baseUrlEnv(preset.name, env, preset);
    // Keyless local servers are enabled by their base URL; keyed ones by their key.
    if (key || (preset.keyless && base)) {
      found[preset.name] = {
        type: preset.name === 'openai' ? 'openai' : 'openai-compatible',
        preset: preset.name,
        api_key: key,
        base_url: base,
        enabled: true,
      };
    }
  }
  return found;
}

/** Demo and local providers answer in-process: they have no URL and no key. */
const IN_PROCESS = { baseUrl: 'in-process:', apiKeyEnv: [] };

function defaultsFor(name: string, cfg: ProviderConfig): { baseUrl: string; apiKeyEnv: string[]; headers?: Record<string, string> } {
  if (cfg.type === 'demo' || cfg.type === 'local') return IN_PROCESS;
  const native = NATIVE_FAMILIES[name] ?? Object.values(NATIVE_FAMILIES).find((f) => f.type === cfg.type);
  if (native && (cfg.type === 'anthropic' || cfg.type === 'gemini')) return { baseUrl: native.defaultBaseUrl, apiKeyEnv: native.apiKeyEnv };
  const preset = COMPATIBLE_PRESETS[cfg.preset ?? name] ?? (cfg.type === 'openai' ? COMPATIBLE_PRESETS.openai : undefined);
  return { baseUrl: preset?.defaultBaseUrl ?? '', apiKeyEnv: preset?.apiKeyEnv ?? [], headers: preset?.headers };
}

/** Every enabled provider: the config's entries over those the environment enables. */
function enabledProviders(config: Pick<CoreConfig, 'providers'>, env: Env): Array<[string, ProviderConfig]> {
  return Object.entries({ ...providersFromEnv(env), ...config.providers }).filter(([, cfg]) => cfg.enabled);
}

/**
 * Problems with where the enabled providers would be called, as `WHERE: message`: a `<NAME>_BASE_URL`
 * the gateway would use that is not an http(s) URL (the rule `base_url` follows in the file), or a
 * provider with no URL at all. Lets start-up list them with the file's problems.
 */
export function providerUrlProblems(config: Pick<CoreConfig, 'providers'>, env: Env = process.env): string[] {
  const problems: string[] = [];
  for (const [name, cfg] of enabledProviders(config, env)) {
    if (cfg.type === 'demo' || cfg.type === 'local' || config.providers[name]?.base_url !== undefined) continue;
    const variable = baseUrlEnvName(name);
    const fromEnv = env[variable];
    if (fromEnv) {
      const checked = HttpUrlSchema.safeParse(fromEnv);
      if (!checked.success) problems.push(`${variable}: ${checked.error.issues[0]?.message ?? 'invalid'}`);
    } else if (!defaultsFor(name, cfg).baseUrl) {
      problems.push(`providers.${name}.base_url: required for an OpenAI-compatible server that is no known preset (or set ${variable})`);
    }
  }
  return problems;
}

/**
 * Every enabled provider: config entries first (missing keys and URLs filled from the env),
 * then providers the environment alone enables.
 */
export function resolveProviders(config: Pick<CoreConfig, 'providers'>, env: Env = process.env): ProviderRuntime[] {
  const runtimes: ProviderRuntime[] = [];
  for (const [name, cfg] of enabledProviders(config, env)) {
    const factory = ADAPTER_FACTORIES[cfg.type];
    if (!factory) throw new Error(`provider '${name}': type '${cfg.type}' is not available in this build`);
    const defaults = defaultsFor(name, cfg);
    const baseUrl = cfg.base_url ?? baseUrlEnv(name, env, COMPATIBLE_PRESETS[cfg.preset ?? name]) ?? defaults.baseUrl;
    if (!baseUrl) throw new Error(`provider '${name}': set base_url (or ${name.toUpperCase()}_BASE_URL)`);
    runtimes.push({
      name,
      type: cfg.type,
      adapter: factory(name, cfg),
      credentials: {
        apiKey: cfg.api_key ?? envKey(defaults.apiKeyEnv, env),
        baseUrl,
        headers: { ...defaults.headers, ...cfg.headers },
      },
      limits: cfg.limits,
    });
  }
  return runtimes;
}
