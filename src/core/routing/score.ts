import type { CatalogModel, Prefer } from './types';

/**
 * Ranking accepted candidates: a weighted score from cost, latency, quality and health, normalised over
 * the candidates, and a strict order on the preferred metric (`prefer`) within each group of the plan.
 */

/** One accepted model, with the figures it is ranked by. */
export interface Evaluated {
  model: CatalogModel;
  /** Position of the list it came from (rule `use`, model, models, fallback_models); lower comes first. */
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

interface ScoreWeights {
  cost: number;
  latency: number;
  quality: number;
  /** 1 - error rate over the health window. */
  health: number;
}

const PREFER_WEIGHTS: Record<Prefer, ScoreWeights> = {
  cost: { cost: 0.8, latency: 0.05, quality: 0.1, health: 0.05 },
  latency: { cost: 0.05, latency: 0.8, quality: 0.1, health: 0.05 },
  quality: { cost: 0.05, latency: 0.05, quality: 0.85, health: 0.05 },
  balanced: { cost: 0.3, latency: 0.25, quality: 0.3, health: 0.15 },
};

/** Costs are compared on a log scale (prices span 4 orders of magnitude); free models sit at this floor. */
const COST_FLOOR_USD = 1e-7;
const LATENCY_FLOOR_MS = 1;

/**
 * `prefer: cost | latency | quality` is strict: candidates rank by that metric first, and only values
 * within this band of each other (5% on a log grid) count as a tie that the weighted score decides.
 * Latency is taken per successful answer (divided by 1 - error rate), so a flaky fast model drops back.
 */
const PREFERENCE_TIE_BAND = 0.05;
const LOG_TIE_BAND = Math.log1p(PREFERENCE_TIE_BAND);
const MAX_ERROR_RATE_FOR_LATENCY = 0.95;

export function evaluated(model: CatalogModel, group: number, cost: number, latency: number, errorRate: number, promptTokens: number): Evaluated {
  return {
    model,
    group,
    cost,
    latency,
    logCost: Math.log(cost + COST_FLOOR_USD),
    logLatency: Math.log(latency + LATENCY_FLOOR_MS),
    errorRate,
    promptTokens,
    score: 0,
    sortKey: 0,
  };
}

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

/** Scores the candidates and sorts them in place, best first. */
export function rank(accepted: Evaluated[], prefer: Prefer): void {
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
