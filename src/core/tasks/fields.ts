/**
 * Field definitions (what a user asks to extract: name, type, description, required) and the
 * strict JSON schema they stand for, in the form OpenAI-style structured outputs accept: every
 * property listed in `required`, optional ones nullable, no additional properties.
 */
import { z } from 'zod';
import { noRepeatedNames } from './input';
import type { JsonSchema } from './json';

export const ScalarFieldTypeSchema = z.enum(['string', 'number', 'integer', 'boolean', 'date']);
export const FieldTypeSchema = z.enum([...ScalarFieldTypeSchema.options, 'array', 'object']);
/** What an `array` field holds: a scalar type, or objects described by `fields`. */
export const ItemTypeSchema = z.enum([...ScalarFieldTypeSchema.options, 'object']);

export const MAX_FIELDS = 100;

const DATE_HINT = 'ISO 8601 date (YYYY-MM-DD)';

/** Messages read as predicates after the field's place ("'fields[1].name' has no name"). */
export const FieldDefinitionSchema = z
  .object({
    /** The key in the answer. */
    name: z.string().trim().min(1, 'has no name').max(100, 'has a name longer than 100 characters'),
    type: FieldTypeSchema.default('string'),
    /** What the field means: the model reads it. */
    description: z.string().trim().max(1000, 'has a description longer than 1000 characters').optional(),
    /** A required field is never null; an optional one is null when the text does not say. */
    required: z.boolean().default(false),
    /** Arrays: the type of their items (default string). */
    items: ItemTypeSchema.optional(),
    /** Objects, and arrays of objects: their fields. */
    get fields() {
      return FieldListSchema.optional();
    },
  })
  .superRefine((field, ctx) => {
    const holdsObjects = field.type === 'object' || (field.type === 'array' && field.items === 'object');
    if (holdsObjects && !field.fields) ctx.addIssue({ code: 'custom', path: ['fields'], message: field.type === 'object' ? 'is needed: an object field lists its own fields' : 'is needed: a list of objects lists the fields of its items' });
    if (!holdsObjects && field.fields) ctx.addIssue({ code: 'custom', path: ['fields'], message: 'is only for object fields and lists of objects' });
    if (field.items !== undefined && field.type !== 'array') ctx.addIssue({ code: 'custom', path: ['items'], message: 'is only for array fields' });
  });

export const FieldListSchema = z
  .array(FieldDefinitionSchema)
  .min(1, 'is empty')
  .max(MAX_FIELDS, `has more than ${MAX_FIELDS} fields`)
  .superRefine(noRepeatedNames((field, i) => ({ path: [i, 'name'], message: `repeats the name '${field.name}'; field names must be unique` })));

export type FieldType = z.infer<typeof FieldTypeSchema>;
export type FieldDefinition = z.infer<typeof FieldDefinitionSchema>;
export type FieldDefinitionInput = z.input<typeof FieldDefinitionSchema>;

function scalarSchema(type: z.infer<typeof ScalarFieldTypeSchema>): JsonSchema {
  return type === 'date' ? { type: 'string', description: DATE_HINT } : { type };
}

function objectSchema(fields: readonly FieldDefinition[]): JsonSchema {
  return {
    type: 'object',
    properties: Object.fromEntries(fields.map((f) => [f.name, fieldSchema(f)])),
    required: fields.map((f) => f.name),
    additionalProperties: false,
  };
}

function itemSchema(field: FieldDefinition): JsonSchema {
  const items = field.items ?? 'string';
  return items === 'object' ? objectSchema(field.fields ?? []) : scalarSchema(items);
}

function fieldSchema(field: FieldDefinition): JsonSchema {
  const base = field.type === 'object' ? objectSchema(field.fields ?? []) : field.type === 'array' ? { type: 'array', items: itemSchema(field) } : scalarSchema(field.type);
  const description = [field.description, field.type === 'date' ? DATE_HINT : undefined].filter(Boolean).join('. ');
  const type = field.required ? base.type : [base.type, 'null'];
  return { ...base, type, ...(description ? { description } : {}) };
}

/** The strict JSON schema of an object with these fields (validated first: throws a ZodError). */
export function fieldsJsonSchema(fields: readonly FieldDefinitionInput[]): JsonSchema {
  return objectSchema(FieldListSchema.parse(fields));
}

/** One line per field for a prompt: "- company (string, may be null): Legal name". */
export function describeFields(fields: readonly FieldDefinition[], indent = ''): string {
  return fields
    .map((f) => {
      const type = f.type === 'array' ? `list of ${f.items ?? 'string'}` : f.type;
      const line = `${indent}- ${f.name} (${type}${f.required ? '' : ', may be null'})${f.description ? `: ${f.description}` : ''}`;
      return f.fields ? `${line}\n${describeFields(f.fields, `${indent}  `)}` : line;
    })
    .join('\n');
}
