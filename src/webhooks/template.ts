/**
 * Prompt templates: `{{ field.path }}` placeholders over an event's fields, nothing else.
 * No expressions, helpers or code: a path is dot-separated names or array indexes
 * (`message.text`, `items.0.name`, `items[0].name`). A missing value renders as an empty string,
 * objects and arrays as JSON. Only own properties are read, so `__proto__` and friends lead nowhere.
 */

const PLACEHOLDER = /\{\{\s*([^{}]*?)\s*\}\}/g;
const PATH = /^[A-Za-z_][A-Za-z0-9_-]*(?:\.[A-Za-z0-9_-]+|\[\d+\])*$/;
const FORBIDDEN = new Set(['__proto__', 'prototype', 'constructor']);

/** The path's segments, or undefined when the text is not a valid path. */
function segmentsOf(path: string): string[] | undefined {
  if (!PATH.test(path)) return undefined;
  const segments = path.replace(/\[(\d+)\]/g, '.$1').split('.');
  return segments.some((s) => FORBIDDEN.has(s)) ? undefined : segments;
}

/** Problems with a template (invalid placeholders, stray braces); empty when it is usable. */
export function templateProblems(template: string): string[] {
  const problems: string[] = [];
  for (const match of template.matchAll(PLACEHOLDER)) {
    if (!segmentsOf(match[1] ?? '')) problems.push(`'${match[0]}' is not a field path such as {{message.text}}`);
  }
  const rest = template.replace(PLACEHOLDER, '');
  if (rest.includes('{{') || rest.includes('}}')) problems.push('unbalanced {{ or }}');
  return problems;
}

/** The value at `path` in `fields`, reading own properties only. */
export function lookup(fields: unknown, path: string): unknown {
  const segments = segmentsOf(path);
  if (!segments) return undefined;
  let current: unknown = fields;
  for (const segment of segments) {
    if (current === null || typeof current !== 'object' || !Object.hasOwn(current, segment)) return undefined;
    current = (current as Record<string, unknown>)[segment];
  }
  return current;
}

function display(value: unknown): string {
  if (value === undefined || value === null) return '';
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'boolean' || typeof value === 'bigint') return String(value);
  return JSON.stringify(value);
}

/** Fills every placeholder from `fields`. Call templateProblems() at config time first. */
export function renderTemplate(template: string, fields: unknown): string {
  return template.replace(PLACEHOLDER, (_m, path: string) => display(lookup(fields, path)));
}
