import type { RoutingConfig } from '../config';
import { priceTokens } from './cost';
import { explain, formatMs, formatUsd, type Source } from './explain';
import { UNKNOWN_MODEL_REASON, badAutoReason, parseModel, type ParsedModel } from './model-names';
import { compileRules, matchRule, type RuleMatch } from './rules';
import { evaluated, rank, type Evaluated } from './score';
import { estimateTokens, expectedOutputTokens, promptTokensFor, requestedOutputTokens, type TokenEstimate } from './tokens';
import type { Capability, Catalog, CatalogModel, ExcludedCandidate, HealthView, LatencyEstimate, Plan, PlannedCandidate, PlanOptions, Prefer, RoutedChatRequest } from './types';

/**
 * The routing decision as a pure function: which models may answer a request, in which order, and why.
 * Same inputs, same plan — health is read through a HealthView, never through a clock or a random source.
 */

/** Capabilities the request's content cannot be answered without. */
function contentCapabilities(request: RoutedChatRequest, tokens: TokenEstimate): Set<Capability> {
  const needs = new Set<Capability>();
  if (request.tools?.length) needs.add('tools');
  if (request.response_format?.type === 'json_schema') needs.add('json_schema');
  if (tokens.images > 0) needs.add('vision');
  return needs;
}

interface PlanContext {
  health: HealthView;
  /** The request's needs, as flags: checked for every model. */
  needTools: boolean;
  needVision: boolean;
  needJsonSchema: boolean;
  stream: boolean;
  /** Capability bits only routing.require asks for (the content does not need them), for the reasons. */
  requireOnly: number;
  tokens: TokenEstimate;
  requestedOutput: number | undefined;
  expectedOutput: number;
  allow?: readonly string[];
  deny?: readonly string[];
  maxCost?: number;
  maxLatency?: number;
  /** Only these catalog keys may be planned (a gateway key's allow-list); others are excluded. */
  onlyModels?: ReadonlySet<string>;
  /** Keys already placed; only lists that can name a model twice need it. */
  seen?: Set<string>;
  accepted: Evaluated[];
  excluded: ExcludedCandidate[];
}

const TOOLS_BIT = 1;
const VISION_BIT = 2;
const JSON_SCHEMA_BIT = 4;
const STREAMING_BIT = 8;

const NOT_ALLOWED_REASON = 'not allowed for this API key';

const CAPABILITY_BITS: Record<Capability, number> = { tools: TOOLS_BIT, vision: VISION_BIT, json_schema: JSON_SCHEMA_BIT };

/** Each capability bit: what the content needs and why, and the name routing.require gives it. */
const NEED_PHRASES: Array<[bit: number, needed: string, required: string]> = [
  [TOOLS_BIT, 'tools (the request defines tools)', 'tools (routing.require asks for it)'],
  [VISION_BIT, 'images (the request contains images)', 'vision (routing.require asks for it)'],
  [JSON_SCHEMA_BIT, 'JSON schema output (the request asks for it)', 'json_schema (routing.require asks for it)'],
  [STREAMING_BIT, 'streaming (the request streams)', 'streaming (the request streams)'],
];

/** Reasons by missing bits and require-only bits, built on first use (at most 256). */
const MISSING_REASONS: Array<string | undefined> = [];

function missingReason(missing: number, requireOnly: number): string {
  const index = missing | ((requireOnly & missing) << 4);
  let reason = MISSING_REASONS[index];
  if (reason === undefined) {
    const phrases = NEED_PHRASES.filter(([bit]) => missing & bit).map(([bit, needed, required]) => (requireOnly & bit ? required : needed));
    reason = `no support for ${phrases.join(' or ')}`;
    MISSING_REASONS[index] = reason;
  }
  return reason;
}

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
  if (missing) return missingReason(missing, ctx.requireOnly);
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

/** Time for `outputTokens` by the model's priors: first token, then its tokens per second. */
function priorLatencyMs(model: CatalogModel, outputTokens: number): number {
  const prior = model.latency_prior;
  return prior.ttft_ms + (outputTokens / prior.tokens_per_second) * 1000;
}

/**
 * Expected time of a call producing `outputTokens`. Measured calls (EWMA) had their own output
 * size, so their time is scaled by the prior's shape to this request's output: a model measured
 * on short answers is not taken for fast on a long one.
 */
function expectedLatencyMs(model: CatalogModel, outputTokens: number, live: LatencyEstimate | undefined): number {
  if (!live) return priorLatencyMs(model, outputTokens);
  if (live.outputTokens === undefined) return live.totalMs;
  return live.totalMs * (priorLatencyMs(model, outputTokens) / priorLatencyMs(model, live.outputTokens));
}

function consider(ctx: PlanContext, model: CatalogModel, group: number): void {
  if (ctx.seen) {
    if (ctx.seen.has(model.key)) return;
    ctx.seen.add(model.key);
  }
  if (ctx.onlyModels && !ctx.onlyModels.has(model.key)) {
    ctx.excluded.push({ key: model.key, reason: NOT_ALLOWED_REASON });
    return;
  }
  const promptTokens = promptTokensFor(ctx.tokens, model);
  const output = expectedOutputTokens(ctx.expectedOutput, model);
  const cost = priceTokens(model.pricing, promptTokens, output);
  const latency = expectedLatencyMs(model, output, ctx.health.latency(model.key));
  const reason = exclusionReason(ctx, model, promptTokens, cost, latency);
  if (reason) {
    ctx.excluded.push({ key: model.key, reason });
    return;
  }
  ctx.accepted.push(evaluated(model, group, cost, latency, ctx.health.errorRate(model.key), promptTokens));
}

/** Considers every model a name stands for ("auto" and its shorthands: the whole catalog). */
function considerName(ctx: PlanContext, catalog: Catalog, name: string, group: number, unknownReason: string): void {
  const parsed = parseModel(name);
  const models = parsed.kind === 'auto' ? catalog.models : parsed.kind === 'model' ? catalog.resolve(name) : [];
  if (models.length === 0) {
    if (!ctx.seen?.has(name)) ctx.excluded.push({ key: name, reason: parsed.kind === 'bad-auto' ? badAutoReason(name) : unknownReason });
    ctx.seen?.add(name);
    return;
  }
  for (const m of models) consider(ctx, m, group);
}

/**
 * Puts every model the request may use into ctx (accepted or excluded), in groups whose order the plan
 * keeps: a rule's `use` list, else the requested model followed by `models: [...]` (OpenRouter style: a
 * specific `model` is tried first, then the list in order), else the requested model alone; then
 * routing.fallback_models. `auto` stands for the whole catalog as one group. An unknown or malformed
 * requested model ends the plan.
 */
function collectCandidates(ctx: PlanContext, request: RoutedChatRequest, catalog: Catalog, parsed: ParsedModel, rule: RuleMatch | undefined): Source | { unknown: string } {
  if (parsed.kind === 'bad-auto') return { unknown: badAutoReason(request.model) };
  let source: Source;
  let group = 0;
  const use = rule?.compiled.rule.use;
  if (use?.length) {
    source = { kind: 'rule', first: use[0] };
    for (const name of use) considerName(ctx, catalog, name, group++, `${UNKNOWN_MODEL_REASON} '${name}' in rule '${rule?.compiled.name}'`);
  } else if (request.models?.length) {
    const names = parsed.kind === 'model' ? [request.model, ...request.models] : request.models;
    source = { kind: parsed.kind === 'model' ? 'model' : 'list', first: names[0] };
    for (const name of names) considerName(ctx, catalog, name, group++, `${UNKNOWN_MODEL_REASON} '${name}': no configured provider offers it`);
  } else if (parsed.kind === 'auto') {
    for (const m of catalog.models) consider(ctx, m, 0);
    return { kind: 'auto' };
  } else {
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
export function plan(request: RoutedChatRequest, catalog: Catalog, health: HealthView, config: RoutingConfig, options: PlanOptions = {}): Plan {
  const routing = request.routing;
  const tokens = estimateTokens(request);
  const fromContent = contentCapabilities(request, tokens);
  const needs = new Set([...fromContent, ...(routing?.require ?? [])]);
  let requireOnly = 0;
  for (const c of needs) if (!fromContent.has(c)) requireOnly |= CAPABILITY_BITS[c];
  const rule = matchRule(compileRules(config.rules), request, needs);
  const parsed = parseModel(request.model);
  const prefer = routing?.prefer ?? (parsed.kind === 'auto' ? parsed.prefer : undefined) ?? rule?.compiled.rule.prefer ?? config.default_prefer;
  const requestedOutput = requestedOutputTokens(request);
  const ctx: PlanContext = {
    health,
    needTools: needs.has('tools'),
    needVision: needs.has('vision'),
    needJsonSchema: needs.has('json_schema'),
    stream: request.stream === true,
    requireOnly,
    tokens,
    requestedOutput,
    expectedOutput: requestedOutput ?? config.expected_output_tokens,
    allow: routing?.providers?.allow,
    deny: routing?.providers?.deny,
    maxCost: routing?.max_cost_usd,
    maxLatency: routing?.max_latency_ms,
    onlyModels: options.onlyModels ? new Set(options.onlyModels) : undefined,
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
    maxCostUsd: priceTokens(e.model.pricing, e.promptTokens, expectedOutputTokens(requestedOutput ?? e.model.max_output_tokens, e.model)),
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
