import { z } from 'zod';
import type { Bundle, Create, PlainInputField, ZObject } from 'zapier-platform-core';
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
import { askForJson } from '../structured';

const MAX_LABELS = 100;

const inputFields = [
  {
    key: 'text',
    label: 'Text',
    type: 'text',
    required: true,
    helpText: 'The text to classify: a support ticket, a review, a lead message.',
  },
  {
    key: 'labels',
    label: 'Labels',
    list: true,
    required: true,
    helpText: 'The categories to choose from, one per entry, e.g. `billing`, `bug report`, `feature request`, `other`. The answer is always exactly one of them.',
  },
  {
    key: 'instructions',
    label: 'Extra Instructions',
    type: 'text',
    required: false,
    helpText: 'Optional guidance, e.g. "Use billing for anything about invoices or refunds".',
  },
  ...routingFields,
] as const satisfies readonly PlainInputField[];

const InputSchema = z.object({
  text: z.preprocess(blankToUndefined, z.string()),
  labels: z.preprocess(
    toList,
    z
      .array(z.string())
      .min(2, 'needs at least two labels')
      .max(MAX_LABELS, `accepts at most ${MAX_LABELS} labels`)
      .refine((labels) => new Set(labels.map((l) => l.toLowerCase())).size === labels.length, 'lists a label twice'),
  ),
  instructions: z.preprocess(blankToUndefined, z.string().optional()),
  ...RoutingInputSchema.shape,
});

/** Accepts the label whatever its case or surrounding spaces, and answers with the user's spelling. */
function answerSchema(labels: readonly string[]) {
  return z.object({
    label: z.string().transform((value, ctx) => {
      const match = labels.find((l) => l.toLowerCase() === value.trim().toLowerCase());
      if (match === undefined) {
        ctx.addIssue({ code: 'custom', message: `must be one of: ${labels.join(', ')}` });
        return z.NEVER;
      }
      return match;
    }),
    confidence: z.number().min(0, 'must be between 0 and 1').max(1, 'must be between 0 and 1'),
  });
}

async function perform(z: ZObject, bundle: Bundle) {
  return runStep(z, bundle, async (ctx) => {
    const input = parseInput(InputSchema, bundle.inputData, inputFields);
    const user =
      `Labels: ${JSON.stringify(input.labels)}\n` +
      (input.instructions ? `Instructions: ${input.instructions}\n` : '') +
      `\nText:\n"""\n${input.text}\n"""`;
    const result = await askForJson(
      ctx,
      {
        ...routingOf(input),
        messages: [
          {
            role: 'system',
            content:
              'You classify text. Answer with one JSON object: "label" is exactly one of the given labels, "confidence" is how sure you are, from 0 to 1.',
          },
          { role: 'user', content: user },
        ],
        temperature: 0,
        response_format: {
          type: 'json_schema',
          json_schema: {
            name: 'classification',
            strict: true,
            schema: {
              type: 'object',
              properties: {
                label: { type: 'string', enum: input.labels },
                confidence: { type: 'number', description: 'How sure you are, from 0 (guess) to 1 (certain).' },
              },
              required: ['label', 'confidence'],
              additionalProperties: false,
            },
          },
        },
      },
      answerSchema(input.labels),
    );
    return { label: result.value.label, confidence: result.value.confidence, repaired: result.repaired, ...routeOutput(result.outcomes) };
  });
}

export const classifyText = {
  key: 'classify_text',
  noun: 'Classification',
  display: {
    label: 'Classify Text',
    description: 'Puts text into one of the labels you give (e.g. billing, bug, sales) and says how confident the model is.',
  },
  operation: {
    inputFields: [...inputFields],
    perform,
    sample: { label: 'billing', confidence: 0.92, repaired: false, ...sampleRouteOutput },
    outputFields: [
      { key: 'label', label: 'Label', type: 'string' },
      { key: 'confidence', label: 'Confidence (0-1)', type: 'number' },
      { key: 'repaired', label: 'Needed a Repair Attempt', type: 'boolean' },
      ...routeOutputFields,
    ],
  },
} satisfies Create;
