/** Extract: text + field definitions -> one JSON object with those fields (null where the text is silent). */
import { z } from 'zod';
import { validationError } from '../errors';
import type { Switchyard } from '../gateway';
import { completeStructured, type ChatParams, type StructuredResult } from './complete';
import { FieldListSchema, describeFields, fieldsJsonSchema } from './fields';
import { TextTaskShape } from './input';
import type { StructuredRunOptions, StructuredTask } from './structured';

export const ExtractionInputSchema = z.object({ ...TextTaskShape, fields: FieldListSchema });

export type ExtractionInput = z.input<typeof ExtractionInputSchema>;
export type Extracted = Record<string, unknown>;

const EXTRACT_SYSTEM =
  'Extract the requested fields from the text the user gives. Use only information in the text: copy or normalise values, ' +
  'never invent them, and use null for a field the text does not state. Reply with a single JSON object that has exactly these keys, and nothing else:';

/** The messages and spec of an extraction: instructions and the field list as the system message, the text as the user's. */
export function extractionTask(input: ExtractionInput): StructuredTask<Extracted> {
  const parsed = ExtractionInputSchema.safeParse(input);
  if (!parsed.success) throw validationError(parsed.error);
  const { text, fields, instructions, system } = parsed.data;
  const prompt = [`${EXTRACT_SYSTEM}\n${describeFields(fields)}`, instructions, system].filter(Boolean).join('\n\n');
  return {
    messages: [
      { role: 'system', content: prompt },
      { role: 'user', content: text },
    ],
    spec: { name: 'extracted_fields', strict: true, schema: fieldsJsonSchema(fields) },
  };
}

export type ExtractOptions = ExtractionInput & ChatParams & StructuredRunOptions;

/** Extracts the fields from the text (temperature 0 unless set); one repair call when the answer does not fit. */
export async function extractData(switchyard: Pick<Switchyard, 'chat'>, options: ExtractOptions): Promise<StructuredResult<Extracted>> {
  const { text, fields, instructions, system, ...rest } = options;
  const task = extractionTask({ text, fields, instructions, system });
  return completeStructured(switchyard, { temperature: 0, ...rest, messages: task.messages, ...task.spec });
}
