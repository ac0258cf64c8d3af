/**
 * A model's answer read as JSON and checked against a JSON schema (ajv, draft-07, with formats).
 * Validators are cached by the schema's text: callers build equal schemas per call, and ajv's own
 * cache (by object identity) would otherwise keep every one of them.
 */
import type { default as Ajv, ErrorObject, ValidateFunction } from 'ajv';
import { LRUCache } from 'lru-cache';

/** A JSON schema as plain data. */
export type JsonSchema = Record<string, unknown>;

/** A check's verdict: the value, or what is wrong with it in words a model (and a person) can act on. */
export type Check<T> = { ok: true; value: T } | { ok: false; problem: string };

let ajv: Ajv | undefined;

/** ajv with formats, made on the first schema (loading it costs RSS to gateways that never see one). */
function schemaCompiler(): Ajv {
  if (ajv) return ajv;
  /* eslint-disable @typescript-eslint/no-require-imports */
  const { default: AjvClass } = require('ajv') as typeof import('ajv');
  const { default: addFormats } = require('ajv-formats') as typeof import('ajv-formats');
  /* eslint-enable @typescript-eslint/no-require-imports */
  ajv = new AjvClass({ allErrors: true, strict: false });
  addFormats(ajv);
  return ajv;
}

const validators = new LRUCache<string, ValidateFunction>({ max: 500 });

/** The compiled validator of `schema`; throws when the schema itself is invalid. */
export function compileJsonSchema(schema: JsonSchema): ValidateFunction {
  const key = JSON.stringify(schema);
  let validate = validators.get(key);
  if (!validate) {
    try {
      validate = schemaCompiler().compile(schema);
    } finally {
      // The compiled function stays usable; the LRU above is the only cache (and `$id`s may repeat).
      schemaCompiler().removeSchema(schema);
    }
    validators.set(key, validate);
  }
  return validate;
}

/** Why a schema cannot be compiled, or undefined when it can. */
export function jsonSchemaProblem(schema: JsonSchema): string | undefined {
  try {
    compileJsonSchema(schema);
    return undefined;
  } catch (err) {
    return (err as Error).message;
  }
}

/** "/contacts/0/email" -> "contacts[0].email". */
function pathOf(instancePath: string, child?: string): string {
  const parts = instancePath.split('/').slice(1);
  if (child !== undefined) parts.push(child);
  return parts
    .map((p) => p.replace(/~1/g, '/').replace(/~0/g, '~'))
    .reduce((out, p) => (/^\d+$/.test(p) ? `${out}[${p}]` : out ? `${out}.${p}` : p), '');
}

function describeError(e: ErrorObject): string {
  const params = e.params as Record<string, unknown>;
  if (e.keyword === 'required') return `${pathOf(e.instancePath, String(params.missingProperty))} is missing`;
  if (e.keyword === 'additionalProperties') return `${pathOf(e.instancePath, String(params.additionalProperty))} is not allowed (not in the schema)`;
  const where = pathOf(e.instancePath);
  let message = e.message ?? 'is invalid';
  if (e.keyword === 'enum' && Array.isArray(params.allowedValues)) message += `: ${params.allowedValues.map((v) => JSON.stringify(v)).join(', ')}`;
  return where ? `${where} ${message}` : message;
}

/** The first few schema errors, e.g. "job_title is missing; budget must be string,null". */
export function describeSchemaErrors(errors: readonly ErrorObject[] | null | undefined, max = 5): string {
  const list = errors ?? [];
  const shown = list.slice(0, max).map(describeError).join('; ');
  return list.length > max ? `${shown}; and ${list.length - max} more` : shown;
}

function tryParse(text: string): { ok: true; value: unknown } | { ok: false; error: string } {
  try {
    return { ok: true, value: JSON.parse(text) };
  } catch (err) {
    return { ok: false, error: (err as Error).message };
  }
}

/**
 * The JSON in a model's text, phrased as what follows "the answer" when it is not JSON.
 * Models wrap JSON in a ```json fence or in a sentence even when asked not to: both are tolerated.
 */
export function parseJsonAnswer(text: string | null | undefined): Check<unknown> {
  const trimmed = (text ?? '').trim();
  if (trimmed === '') return { ok: false, problem: 'is empty' };
  const whole = tryParse(trimmed);
  if (whole.ok) return whole;
  const fenced = /```(?:json)?\s*([\s\S]*?)```/i.exec(trimmed)?.[1];
  const start = trimmed.indexOf('{');
  const end = trimmed.lastIndexOf('}');
  const candidates = [fenced, start >= 0 && end > start ? trimmed.slice(start, end + 1) : undefined];
  for (const candidate of candidates) {
    const parsed = candidate === undefined ? undefined : tryParse(candidate.trim());
    if (parsed?.ok) return parsed;
  }
  return { ok: false, problem: `is not valid JSON (${whole.error})` };
}

/** Parses the answer and validates it against `schema`; problems read after "the answer". */
export function checkJsonAnswer(text: string | null | undefined, schema: JsonSchema): Check<unknown> {
  const parsed = parseJsonAnswer(text);
  if (!parsed.ok) return parsed;
  const validate = compileJsonSchema(schema);
  if (validate(parsed.value)) return parsed;
  return { ok: false, problem: `does not match the schema: ${describeSchemaErrors(validate.errors)}` };
}
