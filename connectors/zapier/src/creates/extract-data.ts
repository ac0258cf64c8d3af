import { z } from 'zod';
import type { Bundle, Create, PlainInputField, ZObject } from 'zapier-platform-core';
import { extractionTask, type FieldDefinitionInput } from '../core';
import { StepError } from '../errors';
import {
  RoutingInputSchema,
  blankToUndefined,
  parseInput,
  routeOutput,
  routeOutputFields,
  routingFields,
  routingOf,
  sampleRouteOutput,
  toList,
} from '../fields';
import { runStep } from '../step';
import { askStructured } from '../structured';

/** One requested field: "Company" or "Company: the legal name" -> key `company`. */
export interface FieldSpec {
  key: string;
  name: string;
  description?: string;
}

const MAX_FIELDS = 50;
const RESERVED_KEYS = new Set<string>([...routeOutputFields.map((f) => f.key), 'repaired']);

export function fieldKey(name: string): string {
  const slug = name
    .normalize('NFKD')
    .replace(/[\u0300-\u036f]/g, '')
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '_')
    .replace(/^_+|_+$/g, '');
  return /^[0-9]/.test(slug) ? `field_${slug}` : slug;
}

/** The field list as the user typed it, validated: unique keys, none that clash with the step's own outputs. */
export function fieldSpecs(raw: unknown): FieldSpec[] {
  const lines = toList(raw) as unknown[];
  if (lines.length === 0) throw new StepError('Field "Fields to Extract" is required: add at least one field, e.g. "company".', 'invalid_input', 400);
  if (lines.length > MAX_FIELDS) throw new StepError(`Field "Fields to Extract" has ${lines.length} entries; at most ${MAX_FIELDS} are supported.`, 'invalid_input', 400);
  const specs: FieldSpec[] = [];
  for (const line of lines) {
    const text = String(line);
    const colon = text.indexOf(':');
    const name = (colon >= 0 ? text.slice(0, colon) : text).trim();
    const description = colon >= 0 ? text.slice(colon + 1).trim() : undefined;
    const key = fieldKey(name);
    if (!key) throw new StepError(`Field "Fields to Extract": "${text}" has no usable name; start each entry with letters or digits.`, 'invalid_input', 400);
    if (RESERVED_KEYS.has(key)) throw new StepError(`Field "Fields to Extract": "${name}" clashes with an output of this step; rename it (e.g. "${name} value").`, 'invalid_input', 400);
    if (specs.some((s) => s.key === key)) throw new StepError(`Field "Fields to Extract": "${name}" is listed twice.`, 'invalid_input', 400);
    specs.push({ key, name, ...(description ? { description } : {}) });
  }
  return specs;
}

/** The core's field definition of an entry: a text field (null when the text does not say), described by what the user typed. */
function fieldDefinition(spec: FieldSpec): FieldDefinitionInput {
  return { name: spec.key, type: 'string', description: spec.description ? `${spec.name}: ${spec.description}` : spec.name };
}

const inputFields = [
  {
    key: 'text',
    label: 'Text',
    type: 'text',
    required: true,
    helpText: 'The text to pull data out of: an email, a form message, a contact note, a transcript.',
  },
  {
    key: 'fields',
    label: 'Fields to Extract',
    list: true,
    required: true,
    helpText:
      'One entry per field you want back, e.g. `company`, `job title`, `budget`. Add a hint after a colon to be precise: `budget: yearly budget in USD, digits only`. Each field becomes its own output you can map in later steps (empty when the text does not say).',
  },
  {
    key: 'instructions',
    label: 'Extra Instructions',
    type: 'text',
    required: false,
    helpText: 'Optional rules for all fields, e.g. "Dates as YYYY-MM-DD" or "Phone numbers in international format".',
  },
  ...routingFields,
] as const satisfies readonly PlainInputField[];

const InputSchema = z.object({
  text: z.preprocess(blankToUndefined, z.string()),
  instructions: z.preprocess(blankToUndefined, z.string().optional()),
  ...RoutingInputSchema.shape,
});

async function perform(z: ZObject, bundle: Bundle) {
  return runStep(z, bundle, async (ctx) => {
    const input = parseInput(InputSchema, bundle.inputData, inputFields);
    const specs = fieldSpecs(bundle.inputData.fields);
    const task = extractionTask({ text: input.text, fields: specs.map(fieldDefinition), instructions: input.instructions });
    const result = await askStructured(ctx, { ...routingOf(input), messages: task.messages, temperature: 0 }, task.spec);
    return { ...result.value, repaired: result.repaired, ...routeOutput(result.outcomes) };
  });
}

/** One output field per requested field, so later steps can map each one. */
async function requestedOutputFields(_z: ZObject, bundle: Bundle) {
  try {
    return fieldSpecs(bundle.inputData.fields).map((s) => ({ key: s.key, label: s.name, type: 'string' as const }));
  } catch {
    return [];
  }
}

export const extractData = {
  key: 'extract_data',
  noun: 'Data',
  display: {
    label: 'Extract Data',
    description: 'Pulls the fields you list (name, company, budget...) out of free text, each as its own output; the answer is checked against the field list.',
  },
  operation: {
    inputFields: [...inputFields],
    perform,
    sample: { company: 'Acme Corp', job_title: 'Head of Marketing', budget: '25000', repaired: false, ...sampleRouteOutput },
    outputFields: [requestedOutputFields, { key: 'repaired', label: 'Needed a Repair Attempt', type: 'boolean' }, ...routeOutputFields],
  },
} satisfies Create;
