import Ajv2020 from 'ajv/dist/2020';
import addFormats from 'ajv-formats';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

/**
 * Validators compiled from the official OpenAI OpenAPI schemas in ../shared/reference
 * (nullable -> type union, null added to enums; recipe in that folder's README).
 */
const SCHEMAS_FILE = join(__dirname, '..', '..', '..', 'shared', 'reference', 'openai-chat-completions-schemas.json');

type Json = Record<string, unknown>;

function convertNullable(node: unknown): unknown {
  if (Array.isArray(node)) return node.map(convertNullable);
  if (!node || typeof node !== 'object') return node;
  const out: Json = {};
  for (const [k, v] of Object.entries(node as Json)) out[k] = convertNullable(v);
  if (out.nullable === true) {
    delete out.nullable;
    if (typeof out.type === 'string') out.type = [out.type, 'null'];
    if (Array.isArray(out.enum) && !out.enum.includes(null)) out.enum = [...out.enum, null];
    if (!out.type && !out.enum) return { anyOf: [out, { type: 'null' }] };
  }
  return out;
}

let ajv: Ajv2020 | undefined;

function compiler(): Ajv2020 {
  if (ajv) return ajv;
  const raw = JSON.parse(readFileSync(SCHEMAS_FILE, 'utf8')) as { components: { schemas: Json } };
  const schemas = convertNullable(raw.components.schemas) as Json;
  ajv = new Ajv2020({ strict: false, allErrors: true });
  addFormats(ajv);
  ajv.addFormat('unixtime', true);
  ajv.addSchema({ $id: 'openai', components: { schemas } });
  return ajv;
}

function validatorFor(name: string) {
  return compiler().getSchema(`openai#/components/schemas/${name}`)!;
}

function assertValid(name: string, value: unknown): void {
  const validate = validatorFor(name);
  if (!validate(value)) {
    throw new Error(`${name} invalid: ${JSON.stringify(validate.errors, null, 1)}\n${JSON.stringify(value)}`);
  }
}

export const assertOpenAIResponse = (v: unknown) => assertValid('CreateChatCompletionResponse', v);
export const assertOpenAIChunk = (v: unknown) => assertValid('CreateChatCompletionStreamResponse', v);
export const assertOpenAIRequest = (v: unknown) => assertValid('CreateChatCompletionRequest', v);
export const assertOpenAIError = (v: unknown) => assertValid('ErrorResponse', v);
