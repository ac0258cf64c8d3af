import type { CoreConfig } from '../core/config';
import { catalogFamily, overrideFile } from '../core/routing/catalog';
import { badAutoReason, parseModel } from '../core/routing/model-names';
import { COMPATIBLE_PRESETS } from '../providers/openai-compatible';
import { NATIVE_FAMILIES, providersFromEnv } from '../providers/registry';
import type { ServerConfig } from './config';

/**
 * Names the configuration refers to that nothing defines: a rule's `use` model the catalog cannot
 * resolve, a `models:` entry of an unknown provider. A name the catalog knows whose provider has no
 * key is fine (that model is unavailable, not misspelt).
 */

type Env = Record<string, string | undefined>;
type References = Pick<CoreConfig, 'providers' | 'models' | 'routing'>;

export interface ReferenceIssue {
  path: Array<string | number>;
  message: string;
}

/** Families whose models the gateway discovers at start (pulled Ollama models, a local GGUF file). */
const DISCOVERED_FAMILIES: ReadonlySet<string> = new Set(['ollama', 'local']);

/** Provider names usable without a `providers:` entry: every catalog family and preset. */
function builtInProviders(): string[] {
  return [...new Set([...Object.keys(overrideFile().families), ...Object.keys(COMPATIBLE_PRESETS), ...Object.keys(NATIVE_FAMILIES)])];
}

/** Everything a model name may resolve to, mirroring the catalog's keys, model ids and aliases. */
class KnownNames {
  readonly providers = new Map<string, string>();
  private readonly keys = new Set<string>();
  private readonly names = new Map<string, string>();
  /** Whether a provider of discovered models may serve bare names the catalog does not list. */
  private readonly bareMayBeDiscovered: boolean;

  constructor(config: References, env: Env) {
    for (const name of builtInProviders()) this.providers.set(name, name);
    for (const [name, cfg] of Object.entries(config.providers)) this.providers.set(name, catalogFamily({ name, ...cfg }));
    const families = overrideFile().families;
    for (const [provider, family] of this.providers) {
      for (const m of families[family]?.models ?? []) this.add(`${provider}/${m.model}`, [m.model, ...(m.aliases ?? [])]);
    }
    for (const m of config.models) this.add(m.key, [m.model ?? m.key.slice(m.key.indexOf('/') + 1), ...(m.aliases ?? [])]);
    const enabled = Object.entries({ ...providersFromEnv(env), ...config.providers }).filter(([, p]) => p.enabled);
    // With no provider at all the gateway probes a local Ollama at start.
    this.bareMayBeDiscovered = enabled.length === 0 || enabled.some(([name]) => this.discovers(name));
  }

  private add(key: string, names: string[]): void {
    this.keys.add(key);
    for (const n of names) this.names.set(n.toLowerCase(), n);
  }

  private discovers(provider: string): boolean {
    return DISCOVERED_FAMILIES.has(this.providers.get(provider) ?? '');
  }

  /** Why a model name resolves to nothing, or undefined when it may resolve. */
  modelProblem(name: string): string | undefined {
    const parsed = parseModel(name);
    if (parsed.kind === 'auto') return undefined;
    if (parsed.kind === 'bad-auto') return badAutoReason(name);
    if (this.keys.has(name) || this.names.has(name.toLowerCase())) return undefined;
    const slash = name.indexOf('/');
    if (slash > 0 ? this.discovers(name.slice(0, slash)) : this.bareMayBeDiscovered) return undefined;
    return `unknown model '${name}'${didYouMean(closest(name, [...this.keys, ...this.names.values()]))}`;
  }

  /** Why a provider name is unknown, or undefined when it is configured or built in. */
  providerProblem(name: string, configured: string[]): string | undefined {
    if (this.providers.has(name)) return undefined;
    return `unknown provider '${name}'${didYouMean(closest(name, [...this.providers.keys()]))}; configured: ${configured.join(', ') || 'none'}`;
  }
}

function push(issues: ReferenceIssue[], path: ReferenceIssue['path'], message: string | undefined): void {
  if (message) issues.push({ path, message });
}

/** Unknown providers of `models:` entries and unknown models of `routing.rules[].use`, with their paths. */
export function referenceIssues(config: References, env: Env): ReferenceIssue[] {
  const known = new KnownNames(config, env);
  const configured = Object.keys({ ...config.providers, ...providersFromEnv(env) });
  const issues: ReferenceIssue[] = [];
  config.models.forEach((m, i) => {
    const slash = m.key.indexOf('/');
    const keyProvider = m.key.slice(0, slash);
    const keyProblem = slash > 0 && slash < m.key.length - 1 ? known.providerProblem(keyProvider, configured) : `'${m.key}' must look like provider/model`;
    push(issues, ['models', i, 'key'], keyProblem);
    if (m.provider !== undefined && m.provider !== keyProvider) push(issues, ['models', i, 'provider'], known.providerProblem(m.provider, configured));
  });
  config.routing.rules.forEach((rule, r) => {
    rule.use?.forEach((name, u) => push(issues, ['routing', 'rules', r, 'use', u], known.modelProblem(name)));
  });
  return issues;
}

/** Unknown models a webhook flow asks for (`model`, `models`, `routing.fallback_models`), with their paths. */
export function flowReferenceIssues(config: References & Pick<ServerConfig, 'flows'>, env: Env): ReferenceIssue[] {
  const known = new KnownNames(config, env);
  const issues: ReferenceIssue[] = [];
  for (const [name, flow] of Object.entries(config.flows)) {
    push(issues, ['flows', name, 'model'], known.modelProblem(flow.model));
    flow.models?.forEach((m, i) => push(issues, ['flows', name, 'models', i], known.modelProblem(m)));
    flow.routing?.fallback_models?.forEach((m, i) => push(issues, ['flows', name, 'routing', 'fallback_models', i], known.modelProblem(m)));
  }
  return issues;
}

function didYouMean(names: string[]): string {
  if (names.length === 0) return '';
  const quoted = names.map((n) => `'${n}'`);
  const last = quoted.pop() as string;
  return ` (did you mean ${quoted.length > 0 ? `${quoted.join(', ')} or ${last}` : last}?)`;
}

/** Candidates within a small edit distance of `name` (case-insensitive), nearest first. */
function closest(name: string, candidates: string[]): string[] {
  const target = name.toLowerCase();
  const limit = target.length <= 4 ? 1 : target.length <= 12 ? 2 : 3;
  const scored = [...new Set(candidates)].map((c) => ({ c, d: editDistance(target, c.toLowerCase()) })).filter((s) => s.d <= limit);
  return scored
    .sort((a, b) => a.d - b.d)
    .slice(0, 3)
    .map((s) => s.c);
}

/** Levenshtein distance (insertions, deletions, substitutions). */
function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const row = [i];
    for (let j = 1; j <= b.length; j++) {
      row[j] = Math.min(previous[j]! + 1, row[j - 1]! + 1, previous[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    previous = row;
  }
  return previous[b.length]!;
}
