import type { RuleMatch } from './rules';
import type { Evaluated } from './score';
import type { Capability, Catalog, ExcludedCandidate, Prefer } from './types';

/** The one sentence a plan gives for its first candidate, and the figures exclusion reasons quote. */

export function formatUsd(usd: number): string {
  if (usd === 0) return '$0';
  if (usd >= 1) return `$${usd.toFixed(2)}`;
  return `$${Number(usd.toPrecision(2))}`;
}

export function formatMs(ms: number): string {
  return ms < 1000 ? `${Math.round(ms)} ms` : `${(ms / 1000).toFixed(1)} s`;
}

const CAPABILITY_ORDER: Capability[] = ['tools', 'vision', 'json_schema'];
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

export interface Source {
  kind: 'auto' | 'model' | 'list' | 'rule';
  /** The first name asked for (model or first of the list). */
  first?: string;
}

export function explain(
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
