import { z } from 'zod';
import type { Bundle, Create, PlainInputField, ZObject } from 'zapier-platform-core';
import { LabelListSchema, classificationTask } from '../core';
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
  labels: z.preprocess((value) => (toList(value) as unknown[]).map((name) => ({ name: String(name) })), LabelListSchema),
  instructions: z.preprocess(blankToUndefined, z.string().optional()),
  ...RoutingInputSchema.shape,
});

async function perform(z: ZObject, bundle: Bundle) {
  return runStep(z, bundle, async (ctx) => {
    const input = parseInput(InputSchema, bundle.inputData, inputFields);
    const task = classificationTask({ text: input.text, labels: input.labels, instructions: input.instructions });
    const result = await askStructured(ctx, { ...routingOf(input), messages: task.messages, temperature: 0 }, task.spec);
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
