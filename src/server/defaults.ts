import type { ModelOverride, ProviderConfig } from '../core/config';
import { buildCatalog } from '../core/routing/catalog';
import { localModelId } from '../providers/local';
import { providersFromEnv } from '../providers/registry';
import type { ServerConfig } from './config';

/**
 * Which providers serve when the user configured none: a local Ollama if one answers, else the
 * built-in demo family. Also fills what in-process and discovered providers need to be routable.
 */

type Env = Record<string, string | undefined>;
type FetchLike = (url: string, init: { signal: AbortSignal }) => Promise<{ ok: boolean; json(): Promise<unknown> }>;

export type ProviderMode = 'configured' | 'ollama' | 'demo';

export interface EffectiveConfig {
  config: ServerConfig;
  mode: ProviderMode;
  /** Human-readable notes for the start-up log. */
  notes: string[];
}

export interface DefaultsOptions {
  env?: Env;
  fetch?: FetchLike;
  probeMs?: number;
}

export const DEFAULT_OLLAMA_URL = 'http://localhost:11434';

/** Ollama's native root (its OpenAI API lives under /v1). */
function ollamaRoot(url: string): string {
  return url.replace(/\/+$/, '').replace(/\/v1$/, '');
}

/** Names of the models a local Ollama has pulled, or undefined when nothing answers in time. */
export async function probeOllama(baseUrl: string, fetchImpl: FetchLike, timeoutMs: number): Promise<string[] | undefined> {
  try {
    const res = await fetchImpl(`${ollamaRoot(baseUrl)}/api/tags`, { signal: AbortSignal.timeout(timeoutMs) });
    if (!res.ok) return undefined;
    const body = (await res.json()) as { models?: Array<{ name?: unknown; model?: unknown }> };
    if (!Array.isArray(body?.models)) return undefined;
    return body.models.map((m) => (typeof m.model === 'string' ? m.model : m.name)).filter((n): n is string => typeof n === 'string');
  } catch {
    return undefined;
  }
}

function enabledProviders(config: ServerConfig, env: Env): Record<string, ProviderConfig> {
  const merged = { ...providersFromEnv(env), ...config.providers };
  return Object.fromEntries(Object.entries(merged).filter(([, p]) => p.enabled));
}

/** Pulled Ollama models the catalog does not know yet, as config models (free, local). */
function ollamaModels(name: string, pulled: string[], config: ServerConfig): ModelOverride[] {
  const catalog = buildCatalog({ providers: [{ name, type: 'openai-compatible', preset: 'ollama' }], overrides: config.models });
  const known = (id: string) => catalog.resolve(`${name}/${id}`).length > 0 || catalog.resolve(id).some((m) => m.provider === name);
  return pulled.filter((id) => !known(id)).map((id) => ({ key: `${name}/${id}`, provider: name, model: id }));
}

/** The model a `local` provider serves, unless config already lists one for it. */
function localModels(name: string, provider: ProviderConfig, config: ServerConfig): ModelOverride[] {
  if (!provider.model_path || config.models.some((m) => m.provider === name || m.key?.startsWith(`${name}/`))) return [];
  const id = localModelId(provider.model_path);
  return [{ key: `${name}/${id}`, provider: name, model: id, capabilities: { tools: true, json_schema: true, vision: false, streaming: true } }];
}

/**
 * The configuration the gateway runs with. Configured or env-enabled providers win; with none,
 * a local Ollama (OLLAMA_BASE_URL or localhost:11434) if it answers within `probeMs`, else demo.
 */
export async function resolveEffectiveConfig(config: ServerConfig, opts: DefaultsOptions = {}): Promise<EffectiveConfig> {
  const env = opts.env ?? process.env;
  const fetchImpl = opts.fetch ?? (fetch as unknown as FetchLike);
  const probeMs = opts.probeMs ?? config.server.ollama_probe_ms;
  const providers: Record<string, ProviderConfig> = { ...config.providers };
  const models = [...config.models];
  const notes: string[] = [];
  let mode: ProviderMode = 'configured';

  const enabled = enabledProviders(config, env);
  if (Object.keys(enabled).length === 0) {
    const url = env.OLLAMA_BASE_URL || DEFAULT_OLLAMA_URL;
    const pulled = await probeOllama(url, fetchImpl, probeMs);
    if (pulled) {
      mode = 'ollama';
      providers.ollama = { type: 'openai-compatible', preset: 'ollama', base_url: `${ollamaRoot(url)}/v1`, enabled: true };
      enabled.ollama = providers.ollama;
      notes.push(`no provider keys set: using the local Ollama at ${ollamaRoot(url)} (${pulled.length} model(s))`);
      models.push(...ollamaModels('ollama', pulled, config));
    } else {
      mode = 'demo';
      providers.demo = { type: 'demo', enabled: true };
      notes.push('no provider keys set and no Ollama answering: using the built-in demo provider (simulated answers); set a provider key such as OPENAI_API_KEY to use real models');
    }
  } else {
    for (const [name, p] of Object.entries(enabled)) {
      if (p.type === 'openai-compatible' && (p.preset ?? name) === 'ollama') {
        const pulled = await probeOllama(p.base_url ?? env.OLLAMA_BASE_URL ?? DEFAULT_OLLAMA_URL, fetchImpl, probeMs);
        if (pulled) models.push(...ollamaModels(name, pulled, config));
        else notes.push(`provider '${name}' (Ollama) did not answer at start-up; only the catalog's Ollama models are routable`);
      }
    }
  }
  for (const [name, p] of Object.entries(enabled)) if (p.type === 'local') models.push(...localModels(name, p, config));
  return { config: { ...config, providers, models }, mode, notes };
}
