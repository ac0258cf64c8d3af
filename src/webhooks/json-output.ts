/**
 * JSON outputs: the flow's JSON schema compiled with ajv, and the model's text read as JSON.
 * Validators are cached per schema object (flows are parsed once per config load).
 */
import Ajv, { type ErrorObject, type ValidateFunction } from 'ajv';
import addFormats from 'ajv-formats';

const ajv = new Ajv({ allErrors: true, strict: false });
addFormats(ajv);
const validators = new WeakMap<object, ValidateFunction>();

/** The compiled validator of `schema`; throws when the schema itself is invalid. */
export function validatorFor(schema: Record<string, unknown>): ValidateFunction {
  let validate = validators.get(schema);
  if (!validate) {
    validate = ajv.compile(schema);
    validators.set(schema, validate);
  }
  return validate;
}

/** Why a schema cannot be compiled, or undefined when it can. */
export function schemaProblem(schema: Record<string, unknown>): string | undefined {
  try {
    validatorFor(schema);
    return undefined;
  } catch (err) {
    return (err as Error).message;
  }
}

function describe(errors: ErrorObject[] | null | undefined): string {
  return (errors ?? [])
    .slice(0, 5)
    .map((e) => `${e.instancePath || '(root)'} ${e.message ?? 'is invalid'}`)
    .join('; ');
}

/** Models sometimes wrap JSON in a markdown fence even when asked not to. */
function unfence(text: string): string {
  const fenced = /^\s*```(?:json)?\s*\n([\s\S]*?)\n?```\s*$/i.exec(text);
  return fenced ? (fenced[1] ?? '') : text;
}

export type JsonCheck = { ok: true; value: unknown } | { ok: false; problem: string };

/** Parses the model's answer and validates it against the schema. */
export function checkJson(text: string, schema: Record<string, unknown>): JsonCheck {
  let value: unknown;
  try {
    value = JSON.parse(unfence(text));
  } catch (err) {
    return { ok: false, problem: `not valid JSON (${(err as Error).message})` };
  }
  const validate = validatorFor(schema);
  if (validate(value)) return { ok: true, value };
  return { ok: false, problem: `does not match the schema: ${describe(validate.errors)}` };
}
