import type { Rule, RoutingConfig } from '../config';
import { estimateTokens, isOpenAIFamily, type TokenEstimate } from './tokens';
import {
  PreferSchema,
  type Capability,
  type Catalog,
  type CatalogModel,
  type ExcludedCandidate,
  type HealthView,
  type Plan,
  type PlannedCandidate,
  type Prefer,
  type RoutedChatRequest,
} from './types';

/**
 * The routing decision as a pure function: which models may answer a request, in which order, and why.
 * Same inputs, same plan — health is read through a HealthView, never through a clock.
 */

export interface ScoreWeights {
  cost: number;
  latency: number;
  quality: number;
  /** 1 - error rate over the health window. */
  health: number;
}

export const COST_WEIGHTS: ScoreWeights = { cost: 0.8, latency: 0.05, quality: 0.1, health: 0.05 };
export const LATENCY_WEIGHTS: ScoreWeights = { cost: 0.05, latency: 0.8, quality: 0.1, health: 0.05 };
export const QUALITY_WEIGHTS: ScoreWeights = { cost: 0.05, latency: 0.05, quality: 0.85, health: 0.05 };
export const BALANCED_WEIGHTS: ScoreWeights = { cost: 0.3, latency: 0.25, quality: 0.3, health: 0.15 };

export const PREFER_WEIGHTS: Record<Prefer, ScoreWeights> = {
  cost: COST_WEIGHTS,
  latency: LATENCY_WEIGHTS,
  quality: QUALITY_WEIGHTS,
  balanced: BALANCED_WEIGHTS,
};

/** Costs are compared on a log scale (prices span 4 orders of magnitude); free models sit at this floor. */
const COST_FLOOR_USD = 1e-7;
const LATENCY_FLOOR_MS = 1;

/**
 * `prefer: cost | latency | quality` is strict: candidates rank by that metric first, and only values
 * within this band of each other (5% on a log grid) count as a tie that the weighted score decides.
 * Latency is taken per successful answer (divided by 1 - error rate), so a flaky fast model drops back.
 */
export const PREFERENCE_TIE_BAND = 0.05;
const LOG_TIE_BAND = Math.log1p(PREFERENCE_TIE_BAND);
const MAX_ERROR_RATE_FOR_LATENCY = 0.95;

/** Excluded entries for names the catalog does not know start with this. */
export const UNKNOWN_MODEL_REASON = 'unknown model';

const AUTO = 'auto';
const PREFERS: ReadonlySet<string> = new Set(PreferSchema.options);

// ---------------------------------------------------------------------------------------------
// Rules

export interface CompiledRule {
  name: string;
  rule: Rule;
  regex?: RegExp;
}

const compiledRules = new WeakMap<readonly Rule[], CompiledRule[]>();

/** Rules with their regexes compiled; cached per rules array. Throws on an invalid regex, naming the rule. */
export function compileRules(rules: readonly Rule[]): CompiledRule[] {
  let compiled = compiledRules.get(rules);
  if (compiled) return compiled;
  compiled = rules.map((rule, i) => {
    const name = rule.name ?? `rules[${i}]`;
    const pattern = rule.when.prompt_matches;
    if (pattern === undefined) return { name, rule };
    try {
      return { name, rule, regex: new RegExp(pattern, 'i') };
    } catch (err) {
      throw new Error(`routing.rules[${i}].when.prompt_matches: ${(err as Error).message}`, { cause: err });
    }
  });
  compiledRules.set(rules, compiled);
  return compiled;
}

const userTexts = new WeakMap<RoutedChatRequest, string>();

/** The text of the user messages, which prompt_matches looks at; memoised per request object. */
function userText(request: RoutedChatRequest): string {
  const known = userTexts.get(request);
  if (known !== undefined) return known;
  const parts: string[] = [];
  for (const m of request.messages) {
    if (m.role !== 'user') continue;
    if (typeof m.content === 'string') parts.push(m.content);
    else for (const p of m.content) if (p.type === 'text') parts.push(p.text);
  }
  const text = parts.join('\n');
  userTexts.set(request, text);
  return text;
}

function isAuto(model: string): boolean {
  return model === AUTO || model.startsWith(`${AUTO}:`);
}

interface RuleMatch {
  compiled: CompiledRule;
  /** What matched, for the reason sentence. */
  because: string;
}

function matchRule(rules: CompiledRule[], request: RoutedChatRequest, needs: ReadonlySet<Capability>): RuleMatch | undefined {
  let text: string | undefined;
  for (const compiled of rules) {
    const when = compiled.rule.when;
    const because: string[] = [];
    if (when.model !== undefined) {
      const ok = when.model === request.model || (when.model === AUTO && isAuto(request.model));
      if (!ok) continue;
      because.push(`model is ${request.model}`);
    }
    if (when.tag !== undefined) {
      if (!request.routing?.tags?.includes(when.tag)) continue;
      because.push(`tag '${when.tag}'`);
    }
    if (when.metadata) {
      const entries = Object.entries(when.metadata);
      if (!entries.every(([k, v]) => request.metadata?.[k] === v)) continue;
      for (const [k, v] of entries) because.push(`metadata ${k}=${v}`);
    }
    if (when.require) {
      if (!when.require.every((c) => needs.has(c))) continue;
      because.push(`needs ${when.require.join(' and ')}`);
    }
    if (compiled.regex) {
      text ??= userText(request);
      if (!compiled.regex.test(text)) continue;
      because.push(`the prompt matches /${compiled.regex.source}/`);
    }
    return { compiled, because: because.join(', ') || 'it matches every request' };
  }
  return undefined;
}

// ---------------------------------------------------------------------------------------------
// Request facts

const CAPABILITY_ORDER: Capability[] = ['tools', 'vision', 'json_schema'];

function hasImages(request: RoutedChatRequest): boolean {
  for (const m of request.messages) {
    if (m.role === 'user' && Array.isArray(m.content)) {
      for (const p of m.content) if (p.type === 'image_url') return true;
    }
  }
  return false;
}

/** Capabilities the request cannot be answered without. */
export function requiredCapabilities(request: RoutedChatRequest): Set<Capability> {
  const needs = new Set<Capability>(request.routing?.require);
  if (request.tools?.length) needs.add('tools');
  if (request.response_format?.type === 'json_schema') needs.add('json_schema');
  if (hasImages(request)) needs.add('vision');
  return needs;
}

function requestedOutputTokens(request: RoutedChatRequest): number | undefined {
  return request.max_completion_tokens ?? request.max_tokens ?? undefined;
}

// ---------------------------------------------------------------------------------------------
// Candidates

interface Evaluated {
  model: CatalogModel;
  group: number;
  cost: number;
  latency: number;
  logCost: number;
  logLatency: number;
  errorRate: number;
  promptTokens: number;
  score: number;
  /** Group, then band of the preferred metric, then score, folded into one number (lower ranks first). */
  sortKey: number;
}

interface PlanContext {
  health: HealthView;
  /** The request's needs, as flags: checked for every model. */
  needTools: boolean;
  needVision: boolean;
  needJsonSchema: boolean;
  stream: boolean;
  tokens: TokenEstimate;
  requestedOutput: number | undefined;
  expectedOutput: number;
  allow?: readonly string[];
  deny?: readonly string[];
  maxCost?: number;
  maxLatency?: number;
  /** Keys already placed; only lists that can name a model twice need it. */
  seen?: Set<string>;
  accepted: Evaluated[];
  excluded: ExcludedCandidate[];
}

function formatUsd(usd: number): string {
  if (usd === 0) return '$0';
  if (usd >= 1) return `$${usd.toFixed(2)}`;
  return `$${Number(usd.toPrecision(2))}`;
}

function formatMs(ms: number): string {
  return ms < 1000 ? `${Math.round(ms)} ms` : `${(ms / 1000).toFixed(1)} s`;
}

const TOOLS_BIT = 1;
const VISION_BIT = 2;
const JSON_SCHEMA_BIT = 4;
const STREAMING_BIT = 8;

const NEED_PHRASES: Array<[number, string]> = [
  [TOOLS_BIT, 'tools (the request defines tools)'],
  [VISION_BIT, 'images (the request contains images)'],
  [JSON_SCHEMA_BIT, 'JSON schema output (the request asks for it)'],
  [STREAMING_BIT, 'streaming (the request streams)'],
];

/** One reason per combination of missing capabilities, built once. */
const MISSING_REASONS: string[] = Array.from({ length: 16 }, (_, mask) => {
  const phrases = NEED_PHRASES.filter(([bit]) => mask & bit).map(([, phrase]) => phrase);
  return `no support for ${phrases.join(' or ')}`;
});

/** Bit set of what the request needs and the model lacks (0: nothing missing). */
function missingCapabilities(ctx: PlanContext, model: CatalogModel): number {
  const caps = model.capabilities;
  return (
    (ctx.needTools && !caps.tools ? TOOLS_BIT : 0) |
    (ctx.needVision && !caps.vision ? VISION_BIT : 0) |
    (ctx.needJsonSchema && !caps.json_schema ? JSON_SCHEMA_BIT : 0) |
    (ctx.stream && !caps.streaming ? STREAMING_BIT : 0)
  );
}

/** Why `model` cannot take the request, or undefined when it can. Cheapest checks first. */
function exclusionReason(ctx: PlanContext, model: CatalogModel, promptTokens: number, cost: number, latency: number): string | undefined {
  if (ctx.health.isOpen(model.key)) return 'temporarily unavailable: its circuit is open after recent failures';
  if (ctx.deny?.includes(model.provider)) return `provider '${model.provider}' is in routing.providers.deny`;
  if (ctx.allow && !ctx.allow.includes(model.provider)) return `provider '${model.provider}' is not in routing.providers.allow`;
  const missing = missingCapabilities(ctx, model);
  if (missing) return MISSING_REASONS[missing];
  if (ctx.requestedOutput !== undefined && ctx.requestedOutput > model.max_output_tokens) {
    return `the request allows ${ctx.requestedOutput} output tokens, this model writes at most ${model.max_output_tokens}`;
  }
  const needed = promptTokens + (ctx.requestedOutput ?? 0);
  if (needed > model.context_window) {
    const output = ctx.requestedOutput ? ` + ${ctx.requestedOutput} output` : '';
    return `prompt too long: about ${promptTokens} tokens${output}, its context window is ${model.context_window}`;
  }
  if (ctx.maxCost !== undefined && cost > ctx.maxCost) {
    return `expected cost ${formatUsd(cost)} is above routing.max_cost_usd ${formatUsd(ctx.maxCost)}`;
  }
  if (ctx.maxLatency !== undefined && latency > ctx.maxLatency) {
    return `expected latency ${formatMs(latency)} is above routing.max_latency_ms ${ctx.maxLatency}`;
  }
  return undefined;
}

function consider(ctx: PlanContext, model: CatalogModel, group: number): void {
  if (ctx.seen) {
    if (ctx.seen.has(model.key)) return;
    ctx.seen.add(model.key);
  }
  const promptTokens = isOpenAIFamily(model) ? ctx.tokens.openai : ctx.tokens.generic;
  const output = Math.min(ctx.expectedOutput, model.max_output_tokens);
  const pricing = model.pricing;
  const cost = (promptTokens * pricing.input + output * pricing.output) / 1_000_000;
  const live = ctx.health.latency(model.key);
  const prior = model.latency_prior;
  const latency = live ? live.totalMs : prior.ttft_ms + (output / prior.tokens_per_second) * 1000;
  const reason = exclusionReason(ctx, model, promptTokens, cost, latency);
  if (reason) {
    ctx.excluded.push({ key: model.key, reason });
    return;
  }
  ctx.accepted.push({
    model,
    group,
    cost,
    latency,
    logCost: Math.log(cost + COST_FLOOR_USD),
    logLatency: Math.log(latency + LATENCY_FLOOR_MS),
    errorRate: ctx.health.errorRate(model.key),
    promptTokens,
    score: 0,
    sortKey: 0,
  });
}

function considerName(ctx: PlanContext, catalog: Catalog, name: string, group: number, unknownReason: string): void {
  if (isAuto(name)) {
    for (const m of catalog.models) consider(ctx, m, group);
    return;
  }
  const models = catalog.resolve(name);
  if (models.length === 0) {
    if (!ctx.seen?.has(name)) ctx.excluded.push({ key: name, reason: unknownReason });
    ctx.seen?.add(name);
    return;
  }
  for (const m of models) consider(ctx, m, group);
}

// ---------------------------------------------------------------------------------------------
// Scoring

function score(accepted: Evaluated[], weights: ScoreWeights): void {
  let minCost = Infinity;
  let maxCost = -Infinity;
  let minLat = Infinity;
  let maxLat = -Infinity;
  let minQ = Infinity;
  let maxQ = -Infinity;
  for (const e of accepted) {
    const c = e.logCost;
    const l = e.logLatency;
    if (c < minCost) minCost = c;
    if (c > maxCost) maxCost = c;
    if (l < minLat) minLat = l;
    if (l > maxLat) maxLat = l;
    if (e.model.quality < minQ) minQ = e.model.quality;
    if (e.model.quality > maxQ) maxQ = e.model.quality;
  }
  const costRange = maxCost - minCost;
  const latRange = maxLat - minLat;
  const qRange = maxQ - minQ;
  for (const e of accepted) {
    const costScore = costRange > 0 ? (maxCost - e.logCost) / costRange : 1;
    const latScore = latRange > 0 ? (maxLat - e.logLatency) / latRange : 1;
    const qScore = qRange > 0 ? (e.model.quality - minQ) / qRange : 1;
    const raw = weights.cost * costScore + weights.latency * latScore + weights.quality * qScore + weights.health * (1 - e.errorRate);
    e.score = Math.round(raw * 10_000) / 10_000;
  }
}

/** Band of the preferred metric: lower ranks first, equal bands tie; 0 for balanced. */
function preferenceBand(e: Evaluated, prefer: Prefer): number {
  switch (prefer) {
    case 'cost':
      return Math.floor(e.logCost / LOG_TIE_BAND);
    case 'latency': {
      // Per successful answer: latency / (1 - error rate), on the log scale.
      const flaky = e.errorRate > 0 ? Math.log(1 - Math.min(e.errorRate, MAX_ERROR_RATE_FOR_LATENCY)) : 0;
      return Math.floor((e.logLatency - flaky) / LOG_TIE_BAND);
    }
    case 'quality':
      return -Math.round(e.model.quality);
    default:
      return 0;
  }
}

/** Bands stay within +-BAND_OFFSET (log of 1e-300..1e300 in 5% steps), scores are 0..SCORE_STEPS. */
const BAND_OFFSET = 20_000;
const SCORE_STEPS = 10_000;

function rank(accepted: Evaluated[], prefer: Prefer): void {
  score(accepted, PREFER_WEIGHTS[prefer]);
  for (const e of accepted) {
    const band = preferenceBand(e, prefer) + BAND_OFFSET;
    e.sortKey = (e.group * 2 * BAND_OFFSET + band) * (SCORE_STEPS + 1) + (SCORE_STEPS - Math.round(e.score * SCORE_STEPS));
  }
  sortEvaluated(accepted);
}

function compareEvaluated(a: Evaluated, b: Evaluated): number {
  return a.sortKey - b.sortKey || a.cost - b.cost || (a.model.key < b.model.key ? -1 : a.model.key > b.model.key ? 1 : 0);
}

/** Reused between calls (plan() is synchronous): allocating a typed array costs more than sorting it. */
let sortScratch = new Float64Array(256);

/**
 * Same order as `accepted.sort(compareEvaluated)`, faster: a native numeric sort on sortKey (with the
 * index folded in), then only runs of equal sortKey (rare) go through the full comparator.
 */
function sortEvaluated(accepted: Evaluated[]): void {
  const n = accepted.length;
  let maxKey = 0;
  for (const e of accepted) if (e.sortKey > maxKey) maxKey = e.sortKey;
  if ((maxKey + 1) * n >= Number.MAX_SAFE_INTEGER) {
    accepted.sort(compareEvaluated);
    return;
  }
  if (sortScratch.length < n) sortScratch = new Float64Array(n * 2);
  const folded = sortScratch.subarray(0, n);
  for (let i = 0; i < n; i++) folded[i] = (accepted[i] as Evaluated).sortKey * n + i;
  folded.sort();
  const sorted = new Array<Evaluated>(n);
  for (let i = 0; i < n; i++) sorted[i] = accepted[(folded[i] as number) % n] as Evaluated;
  for (let start = 0; start < n; ) {
    let end = start + 1;
    while (end < n && (sorted[end] as Evaluated).sortKey === (sorted[start] as Evaluated).sortKey) end++;
    if (end - start > 1) {
      const run = sorted.slice(start, end).sort(compareEvaluated);
      for (let i = 0; i < run.length; i++) sorted[start + i] = run[i] as Evaluated;
    }
    start = end;
  }
  for (let i = 0; i < n; i++) accepted[i] = sorted[i] as Evaluated;
}

// ---------------------------------------------------------------------------------------------
// Explanation

const CAPABILITY_WORDS: Record<Capability, string> = { tools: 'tools', vision: 'vision', json_schema: 'JSON schema' };

function capabilityPhrase(needs: ReadonlySet<Capability>): string {
  if (needs.size === 0) return '';
  const words = CAPABILITY_ORDER.filter((c) => needs.has(c)).map((c) => CAPABILITY_WORDS[c]);
  const list = words.length > 1 ? `${words.slice(0, -1).join(', ')} and ${words[words.length - 1]}` : words[0];
  return ` with ${list} support`;
}

function figures(e: Evaluated): string {
  return `about ${formatUsd(e.cost)} and ${formatMs(e.latency)} per call`;
}

function autoSentence(top: Evaluated, accepted: Evaluated[], prefer: Prefer, needs: ReadonlySet<Capability>): string {
  const caps = capabilityPhrase(needs);
  // The top of an auto plan is in the best band of the preferred metric by construction.
  const lead =
    prefer === 'cost'
      ? `Cheapest model${caps}`
      : prefer === 'latency'
        ? `Fastest model${caps}`
        : prefer === 'quality'
          ? `Highest-quality model${caps}`
          : `Best balance of cost, speed and quality${caps ? ` among models${caps}` : ''}`;
  return `${lead}: ${top.model.key} (${figures(top)}, ${accepted.length} candidate${accepted.length === 1 ? '' : 's'}).`;
}

function skippedPhrase(excluded: ExcludedCandidate[], name: string, catalog: Catalog): string | undefined {
  const keys = new Set([name, ...catalog.resolve(name).map((m) => m.key)]);
  const hit = excluded.find((x) => keys.has(x.key));
  return hit ? `${hit.key} was skipped (${hit.reason})` : undefined;
}

interface Source {
  kind: 'auto' | 'model' | 'list' | 'rule';
  /** The first name asked for (model or first of the list). */
  first?: string;
}

function explain(
  source: Source,
  top: Evaluated | undefined,
  accepted: Evaluated[],
  excluded: ExcludedCandidate[],
  prefer: Prefer,
  needs: ReadonlySet<Capability>,
  catalog: Catalog,
  rule: RuleMatch | undefined,
): string {
  if (!top) {
    const shown = excluded.slice(0, 3).map((x) => `${x.key} (${x.reason})`);
    const more = excluded.length > 3 ? `, and ${excluded.length - 3} more` : '';
    return `No model can take this request: ${shown.join('; ') || 'the catalog has no models for the configured providers'}${more}.`;
  }
  const ruleLead = rule ? `Rule '${rule.compiled.name}' matched (${rule.because})` : '';
  if (source.kind === 'rule') {
    return `${ruleLead}, so ${top.model.key} is used (${figures(top)}).`;
  }
  let sentence: string;
  if (source.kind === 'auto') {
    sentence = autoSentence(top, accepted, prefer, needs);
  } else {
    const first = source.first ?? '';
    const asked = top.group === 0;
    const skipped = asked ? undefined : skippedPhrase(excluded, first, catalog);
    if (source.kind === 'model') {
      sentence = asked
        ? `You asked for ${first}; ${top.model.key} is tried first (${figures(top)}).`
        : `You asked for ${first}, but ${skipped ?? 'it cannot take this request'}; falling back to ${top.model.key}.`;
    } else {
      sentence = asked
        ? `${top.model.key} is first in your models list (${figures(top)}).`
        : `${top.model.key} is the first usable model in your list${skipped ? `; ${skipped}` : ''}.`;
    }
  }
  return rule ? `${ruleLead}; ${sentence.charAt(0).toLowerCase()}${sentence.slice(1)}` : sentence;
}

// ---------------------------------------------------------------------------------------------
// plan()

function parseModel(model: string): { kind: 'auto'; prefer?: Prefer } | { kind: 'model' } | { kind: 'bad-auto' } {
  if (model === AUTO) return { kind: 'auto' };
  if (!model.startsWith(`${AUTO}:`)) return { kind: 'model' };
  const prefer = model.slice(AUTO.length + 1);
  return PREFERS.has(prefer) ? { kind: 'auto', prefer: prefer as Prefer } : { kind: 'bad-auto' };
}

type ParsedModel = ReturnType<typeof parseModel>;

/**
 * Puts every model the request may use into ctx (accepted or excluded), in groups whose order the plan
 * keeps: a rule's `use` list, else `models: [...]`, else the requested model; then routing.fallback_models.
 * `auto` considers the whole catalog as one group. An unknown requested model ends the plan.
 */
function collectCandidates(ctx: PlanContext, request: RoutedChatRequest, catalog: Catalog, parsed: ParsedModel, rule: RuleMatch | undefined): Source | { unknown: string } {
  let source: Source;
  let group = 0;
  const use = rule?.compiled.rule.use;
  if (use?.length) {
    source = { kind: 'rule', first: use[0] };
    for (const name of use) considerName(ctx, catalog, name, group++, `${UNKNOWN_MODEL_REASON} '${name}' in rule '${rule?.compiled.name}'`);
  } else if (request.models?.length) {
    const names = !isAuto(request.model) && !request.models.includes(request.model) ? [request.model, ...request.models] : request.models;
    source = { kind: 'list', first: names[0] };
    for (const name of names) considerName(ctx, catalog, name, group++, `${UNKNOWN_MODEL_REASON} '${name}': no configured provider offers it`);
  } else if (parsed.kind === 'auto') {
    for (const m of catalog.models) consider(ctx, m, 0);
    return { kind: 'auto' };
  } else {
    if (parsed.kind === 'bad-auto') {
      return { unknown: `${UNKNOWN_MODEL_REASON} '${request.model}': use auto, auto:cost, auto:latency, auto:quality or auto:balanced` };
    }
    const primary = catalog.resolve(request.model);
    if (primary.length === 0) return { unknown: `${UNKNOWN_MODEL_REASON} '${request.model}': no configured provider offers it` };
    source = { kind: 'model', first: request.model };
    for (const m of primary) consider(ctx, m, group);
    group++;
  }
  for (const name of request.routing?.fallback_models ?? []) {
    considerName(ctx, catalog, name, group++, `${UNKNOWN_MODEL_REASON} '${name}' in routing.fallback_models`);
  }
  return source;
}

/**
 * Plans a routed request: candidates ranked best first (explicit model lists keep their order),
 * every excluded model with its reason, and one sentence saying why the first candidate.
 */
export function plan(request: RoutedChatRequest, catalog: Catalog, health: HealthView, config: RoutingConfig): Plan {
  const routing = request.routing;
  const needs = requiredCapabilities(request);
  const rule = matchRule(compileRules(config.rules), request, needs);
  const parsed = parseModel(request.model);
  const prefer = routing?.prefer ?? (parsed.kind === 'auto' ? parsed.prefer : undefined) ?? rule?.compiled.rule.prefer ?? config.default_prefer;
  const requestedOutput = requestedOutputTokens(request);
  const tokens = estimateTokens(request);
  const ctx: PlanContext = {
    health,
    needTools: needs.has('tools'),
    needVision: needs.has('vision'),
    needJsonSchema: needs.has('json_schema'),
    stream: request.stream === true,
    tokens,
    requestedOutput,
    expectedOutput: requestedOutput ?? config.expected_output_tokens,
    allow: routing?.providers?.allow,
    deny: routing?.providers?.deny,
    maxCost: routing?.max_cost_usd,
    maxLatency: routing?.max_latency_ms,
    seen: parsed.kind === 'auto' && !request.models?.length && !rule?.compiled.rule.use?.length ? undefined : new Set(),
    accepted: [],
    excluded: [],
  };

  const source = collectCandidates(ctx, request, catalog, parsed, rule);
  if ('unknown' in source) return emptyPlan(request.model, source.unknown, prefer, tokens, rule);

  rank(ctx.accepted, prefer);
  const top = ctx.accepted[0];
  const candidates: PlannedCandidate[] = ctx.accepted.map((e) => ({
    key: e.model.key,
    provider: e.model.provider,
    score: e.score,
    expectedCostUsd: e.cost,
    expectedLatencyMs: Math.round(e.latency),
  }));
  return {
    candidates,
    excluded: ctx.excluded,
    prefer,
    ...(rule ? { rule: rule.compiled.name } : {}),
    estimatedPromptTokens: top ? top.promptTokens : tokens.generic,
    reason: explain(source, top, ctx.accepted, ctx.excluded, prefer, needs, catalog, rule),
  };
}

function emptyPlan(name: string, reason: string, prefer: Prefer, tokens: TokenEstimate, rule: RuleMatch | undefined): Plan {
  return {
    candidates: [],
    excluded: [{ key: name, reason }],
    prefer,
    ...(rule ? { rule: rule.compiled.name } : {}),
    estimatedPromptTokens: tokens.generic,
    reason: `${reason.charAt(0).toUpperCase()}${reason.slice(1)}.`,
  };
}
