/** Classify: text + labels -> exactly one of the labels, with a confidence from 0 to 1. */
import { z } from 'zod';
import { validationError } from '../errors';
import type { Switchyard } from '../gateway';
import { completeStructured, type ChatParams, type StructuredResult } from './complete';
import { TextTaskShape, noRepeatedNames } from './input';
import type { Check, JsonSchema } from './json';
import type { StructuredRunOptions, StructuredTask } from './structured';

export const MAX_LABELS = 100;

export const LabelSchema = z.object({
  name: z.string().trim().min(1, 'has no name').max(200, 'has a name longer than 200 characters'),
  /** When the label applies: the model reads it. */
  description: z.string().trim().max(1000, 'has a description longer than 1000 characters').optional(),
});

/** Labels are matched whatever their case, so two that differ only in case are one label. */
export const LabelListSchema = z
  .array(LabelSchema)
  .min(2, 'needs at least two labels')
  .max(MAX_LABELS, `accepts at most ${MAX_LABELS} labels`)
  .superRefine(noRepeatedNames((label) => ({ message: `lists "${label.name}" twice` }), (name) => name.toLowerCase()));

export const ClassificationSchema = z.object({ label: z.string(), confidence: z.number().min(0).max(1) });

export type Label = z.infer<typeof LabelSchema>;
export type LabelInput = z.input<typeof LabelSchema>;
export type Classification = z.infer<typeof ClassificationSchema>;

const CONFIDENCE = { type: 'number', description: 'How sure you are that the label is right, from 0 (a guess) to 1 (certain)' };

/** Sent to the provider: the label constrained to the list (strict mode carries no number bounds). */
export function classificationSchema(labels: readonly Label[]): JsonSchema {
  return {
    type: 'object',
    properties: {
      label: { type: 'string', enum: labels.map((l) => l.name), description: 'The one label that fits the text best' },
      confidence: CONFIDENCE,
    },
    required: ['label', 'confidence'],
    additionalProperties: false,
  };
}

/** Checked here: any label text (matched below, whatever its case), a confidence within 0..1. */
const VALIDATION_SCHEMA: JsonSchema = {
  type: 'object',
  properties: { label: { type: 'string' }, confidence: { type: 'number', minimum: 0, maximum: 1 } },
  required: ['label', 'confidence'],
  additionalProperties: false,
};

/** The label as the caller spelled it, whatever the case or spaces of the answer; any other label is a problem. */
export function matchLabel(labels: readonly Label[], value: unknown): Check<Classification> {
  const parsed = ClassificationSchema.safeParse(value);
  if (!parsed.success) return { ok: false, problem: 'is not a {"label", "confidence"} object' };
  const given = parsed.data.label.trim();
  const match = labels.find((l) => l.name === given) ?? labels.find((l) => l.name.toLowerCase() === given.toLowerCase());
  if (!match) {
    return { ok: false, problem: `has a label that is not in the list: label must be one of ${labels.map((l) => JSON.stringify(l.name)).join(', ')} (got ${JSON.stringify(parsed.data.label)})` };
  }
  return { ok: true, value: { label: match.name, confidence: parsed.data.confidence } };
}

export const ClassificationInputSchema = z.object({ ...TextTaskShape, labels: LabelListSchema });

export type ClassificationInput = z.input<typeof ClassificationInputSchema>;

/** The messages and spec of a classification: the labels in the system message, the text as the user's. */
export function classificationTask(input: ClassificationInput): StructuredTask<Classification> {
  const parsed = ClassificationInputSchema.safeParse(input);
  if (!parsed.success) throw validationError(parsed.error);
  const { text, labels, instructions, system } = parsed.data;
  const listed = labels.map((l) => `- ${l.name}${l.description ? `: ${l.description}` : ''}`).join('\n');
  const task =
    `Classify the text the user gives into exactly one of these labels:\n${listed}\n\n` +
    'Reply with a single JSON object {"label": ..., "confidence": ...} and nothing else: "label" is exactly one of the labels, ' +
    '"confidence" is how sure you are, from 0 to 1.';
  return {
    messages: [
      { role: 'system', content: [task, instructions, system].filter(Boolean).join('\n\n') },
      { role: 'user', content: text },
    ],
    spec: {
      name: 'classification',
      strict: true,
      schema: classificationSchema(labels),
      validationSchema: VALIDATION_SCHEMA,
      refine: (value) => matchLabel(labels, value),
    },
  };
}

export type ClassifyOptions = ClassificationInput & ChatParams & StructuredRunOptions;

/** Classifies the text (temperature 0 unless set); one repair call when the answer does not fit. */
export async function classifyText(switchyard: Pick<Switchyard, 'chat'>, options: ClassifyOptions): Promise<StructuredResult<Classification>> {
  const { text, labels, instructions, system, ...rest } = options;
  const task = classificationTask({ text, labels, instructions, system });
  return completeStructured(switchyard, { temperature: 0, ...rest, messages: task.messages, ...task.spec });
}
