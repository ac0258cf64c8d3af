import { z } from 'zod';
import type { Bundle, Create, ZObject } from 'zapier-platform-core';
import type { ChatMessage } from '../core';
import {
  GenerationInputSchema,
  RoutingInputSchema,
  blankToUndefined,
  maxTokensField,
  parseInput,
  routeOutput,
  routeOutputFields,
  routingFields,
  routingOf,
  sampleRouteOutput,
  temperatureField,
} from '../fields';
import { runStep } from '../step';

const inputFields = [
  {
    key: 'prompt',
    label: 'Prompt',
    type: 'text',
    required: true,
    helpText: 'What you want the model to write or answer. Map fields from earlier steps into it, e.g. "Write a friendly reply to: {{email body}}".',
  },
  {
    key: 'system_message',
    label: 'System Message',
    type: 'text',
    required: false,
    helpText: 'Optional standing instructions: tone, role, format (e.g. "You are our support team. Answer in two short paragraphs.").',
  },
  ...routingFields,
  maxTokensField,
  temperatureField,
] as const;

const InputSchema = z.object({
  prompt: z.preprocess(blankToUndefined, z.string()),
  system_message: z.preprocess(blankToUndefined, z.string().optional()),
  ...RoutingInputSchema.shape,
  ...GenerationInputSchema.shape,
});

async function perform(z: ZObject, bundle: Bundle) {
  return runStep(z, bundle, async ({ backend, deadline }) => {
    const input = parseInput(InputSchema, bundle.inputData, inputFields);
    const messages: ChatMessage[] = [];
    if (input.system_message) messages.push({ role: 'system', content: input.system_message });
    messages.push({ role: 'user', content: input.prompt });
    const outcome = await backend.chat(
      {
        ...routingOf(input),
        messages,
        ...(input.max_tokens !== undefined ? { max_tokens: input.max_tokens } : {}),
        ...(input.temperature !== undefined ? { temperature: input.temperature } : {}),
      },
      deadline,
    );
    return { text: outcome.text, finish_reason: outcome.finishReason ?? '', ...routeOutput([outcome]) };
  });
}

export const generateText = {
  key: 'generate_text',
  noun: 'Text',
  display: {
    label: 'Generate Text',
    description: 'Writes text from a prompt with the best-fitting AI model, falling back to another provider if one fails.',
  },
  operation: {
    inputFields: [...inputFields],
    perform,
    sample: { text: 'Hi Dana, thanks for reaching out! Your order shipped this morning.', finish_reason: 'stop', ...sampleRouteOutput },
    outputFields: [
      { key: 'text', label: 'Generated Text', type: 'string' },
      { key: 'finish_reason', label: 'Finish Reason', type: 'string' },
      ...routeOutputFields,
    ],
  },
} satisfies Create;
