import { promptRegex, type Rule } from '../config';
import { isAuto } from './model-names';
import { appendText } from './tokens';
import type { Capability, RoutedChatRequest } from './types';

/** Config rules (data, never code): the first whose `when` matches a request may pick models or a preference. */

export interface CompiledRule {
  name: string;
  rule: Rule;
  regex?: RegExp;
}

export interface RuleMatch {
  compiled: CompiledRule;
  /** What matched, for the reason sentence. */
  because: string;
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
      return { name, rule, regex: promptRegex(pattern) };
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
  for (const m of request.messages) if (m.role === 'user') appendText(parts, m.content);
  const text = parts.join('\n');
  userTexts.set(request, text);
  return text;
}

/** The first rule every condition of which holds (an empty `when` matches every request). */
export function matchRule(rules: readonly CompiledRule[], request: RoutedChatRequest, needs: ReadonlySet<Capability>): RuleMatch | undefined {
  let text: string | undefined;
  for (const compiled of rules) {
    const when = compiled.rule.when;
    const because: string[] = [];
    if (when.model !== undefined) {
      const ok = when.model === request.model || (when.model === 'auto' && isAuto(request.model));
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
