import { z } from 'zod';
import type { Bundle, Create, PlainInputField, ZObject } from 'zapier-platform-core';
import { RoutingInputSchema, blankToUndefined, parseInput, routeOutput, routeOutputFields, routingFields, routingOf, sampleRouteOutput } from '../fields';
import { runStep } from '../step';

const STYLES = {
  paragraph: { label: 'Paragraph', instruction: 'Write the summary as plain prose.' },
  bullets: { label: 'Bullet points', instruction: 'Write the summary as a bulleted list, one point per line starting with "- ".' },
  one_sentence: { label: 'One sentence (TL;DR)', instruction: 'Write the summary as a single sentence.' },
  executive: { label: 'Executive brief', instruction: 'Write a short executive brief: the key points, then decisions or action items if any.' },
} as const;

const LENGTHS = {
  short: { label: 'Short (about 50 words)', words: 50, maxTokens: 300 },
  medium: { label: 'Medium (about 120 words)', words: 120, maxTokens: 600 },
  long: { label: 'Long (about 250 words)', words: 250, maxTokens: 1200 },
} as const;

type Style = keyof typeof STYLES;
type Length = keyof typeof LENGTHS;

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
    choices: Object.entries(STYLES).map(([value, s]) => ({ value, label: s.label, sample: value })),
    helpText: 'How the summary is laid out.',
  },
  {
    key: 'length',
    label: 'Length',
    required: false,
    default: 'medium',
    choices: Object.entries(LENGTHS).map(([value, l]) => ({ value, label: l.label, sample: value })),
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
  style: z.preprocess(blankToUndefined, z.enum(Object.keys(STYLES) as [Style, ...Style[]]).default('paragraph')),
  length: z.preprocess(blankToUndefined, z.enum(Object.keys(LENGTHS) as [Length, ...Length[]]).default('medium')),
  language: z.preprocess(blankToUndefined, z.string().optional()),
  ...RoutingInputSchema.shape,
});

async function perform(z: ZObject, bundle: Bundle) {
  return runStep(z, bundle, async ({ backend, deadline }) => {
    const input = parseInput(InputSchema, bundle.inputData, inputFields);
    const length = LENGTHS[input.length];
    const system =
      `You summarize text faithfully, without adding facts. ${STYLES[input.style].instruction} ` +
      `Aim for about ${length.words} words. ` +
      (input.language ? `Write in ${input.language}.` : 'Write in the language of the text.') +
      ' Answer with the summary only.';
    const outcome = await backend.chat(
      {
        ...routingOf(input),
        messages: [
          { role: 'system', content: system },
          { role: 'user', content: input.text },
        ],
        max_tokens: length.maxTokens,
      },
      deadline,
    );
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
