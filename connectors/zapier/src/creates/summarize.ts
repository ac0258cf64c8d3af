import { z } from 'zod';
import type { Bundle, Create, PlainInputField, ZObject } from 'zapier-platform-core';
import { SUMMARY_LENGTHS, SUMMARY_STYLES, SummaryLengthSchema, SummaryStyleSchema, summaryRequest } from '../core';
import { RoutingInputSchema, blankToUndefined, parseInput, routeOutput, routeOutputFields, routingFields, routingOf, sampleRouteOutput } from '../fields';
import { runStep } from '../step';

const inputFields = [
  {
    key: 'text',
    label: 'Text',
    type: 'text',
    required: true,
    helpText: 'The text to summarize: an email thread, a call transcript, an article, meeting notes.',
  },
  {
    key: 'style',
    label: 'Style',
    required: false,
    default: 'paragraph',
    choices: Object.entries(SUMMARY_STYLES).map(([value, s]) => ({ value, label: s.label, sample: value })),
    helpText: 'How the summary is laid out.',
  },
  {
    key: 'length',
    label: 'Length',
    required: false,
    default: 'medium',
    choices: Object.entries(SUMMARY_LENGTHS).map(([value, l]) => ({ value, label: l.label, sample: value })),
    helpText: 'About how long the summary should be.',
  },
  {
    key: 'language',
    label: 'Language',
    required: false,
    helpText: 'Language of the summary, e.g. "English" or "German". Leave empty to use the language of the text.',
  },
  ...routingFields,
] as const satisfies readonly PlainInputField[];

const InputSchema = z.object({
  text: z.preprocess(blankToUndefined, z.string()),
  style: z.preprocess(blankToUndefined, SummaryStyleSchema.default('paragraph')),
  length: z.preprocess(blankToUndefined, SummaryLengthSchema.default('medium')),
  language: z.preprocess(blankToUndefined, z.string().optional()),
  ...RoutingInputSchema.shape,
});

async function perform(z: ZObject, bundle: Bundle) {
  return runStep(z, bundle, async ({ backend, deadline }) => {
    const input = parseInput(InputSchema, bundle.inputData, inputFields);
    const prompt = summaryRequest({ text: input.text, style: input.style, length: input.length, language: input.language });
    const outcome = await backend.chat({ ...routingOf(input), ...prompt }, deadline);
    return { summary: outcome.text.trim(), ...routeOutput([outcome]) };
  });
}

export const summarize = {
  key: 'summarize',
  noun: 'Summary',
  display: {
    label: 'Summarize',
    description: 'Summarizes text in the style and length you pick (paragraph, bullets, one sentence, executive brief).',
  },
  operation: {
    inputFields: [...inputFields],
    perform,
    sample: { summary: 'The customer asks to move the kickoff to next Tuesday and wants a revised quote by Friday.', ...sampleRouteOutput },
    outputFields: [{ key: 'summary', label: 'Summary', type: 'string' }, ...routeOutputFields],
  },
} satisfies Create;
