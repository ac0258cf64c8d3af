/** Summarize: text -> a summary in a chosen style and length (plain text, no schema). */
import { z } from 'zod';
import { GatewayError, validationError } from '../errors';
import type { Switchyard } from '../gateway';
import type { CallOptions, RouteStory, RoutedChatRequest } from '../routing/types';
import type { ChatMessage, ChatResponse } from '../schema';
import { completionText, promptMessages, type ChatParams } from './complete';

export const SUMMARY_STYLES = {
  paragraph: { label: 'Paragraph', instruction: 'Write the summary as plain prose.' },
  bullets: { label: 'Bullet points', instruction: 'Write the summary as a bulleted list, one point per line starting with "- ".' },
  one_sentence: { label: 'One sentence (TL;DR)', instruction: 'Write the summary as a single sentence.' },
  executive: { label: 'Executive brief', instruction: 'Write a short executive brief: the key points, then decisions or action items if any.' },
} as const;

/** Target words, and the token cap that leaves room for them. */
export const SUMMARY_LENGTHS = {
  short: { label: 'Short (about 50 words)', words: 50, maxTokens: 300 },
  medium: { label: 'Medium (about 120 words)', words: 120, maxTokens: 600 },
  long: { label: 'Long (about 250 words)', words: 250, maxTokens: 1200 },
} as const;

type Style = keyof typeof SUMMARY_STYLES;
type Length = keyof typeof SUMMARY_LENGTHS;

export const SummaryStyleSchema = z.enum(Object.keys(SUMMARY_STYLES) as [Style, ...Style[]]);
export const SummaryLengthSchema = z.enum(Object.keys(SUMMARY_LENGTHS) as [Length, ...Length[]]);

export const SummaryInputSchema = z.object({
  text: z.string().trim().min(1, 'is empty'),
  style: SummaryStyleSchema.default('paragraph'),
  length: SummaryLengthSchema.default('medium'),
  /** e.g. "German"; by default the language of the text. */
  language: z.string().trim().min(1).optional(),
});

export type SummaryStyle = z.infer<typeof SummaryStyleSchema>;
export type SummaryLength = z.infer<typeof SummaryLengthSchema>;
export type SummaryInput = z.input<typeof SummaryInputSchema>;

/** The messages and token cap of a summary in the given style and length. */
export function summaryRequest(input: SummaryInput): { messages: ChatMessage[]; max_tokens: number } {
  const parsed = SummaryInputSchema.safeParse(input);
  if (!parsed.success) throw validationError(parsed.error);
  const { text, style, length, language } = parsed.data;
  const size = SUMMARY_LENGTHS[length];
  const system =
    `You summarize text faithfully, without adding facts. ${SUMMARY_STYLES[style].instruction} ` +
    `Aim for about ${size.words} words. ` +
    (language ? `Write in ${language}.` : 'Write in the language of the text.') +
    ' Answer with the summary only.';
  return { messages: promptMessages({ system, prompt: text }), max_tokens: size.maxTokens };
}

export type SummarizeOptions = SummaryInput & Omit<ChatParams, 'max_tokens'> & CallOptions;

export interface SummaryResult {
  summary: string;
  response: ChatResponse;
  story: RouteStory;
}

/** Summarizes the text with one routed call; an empty answer is a 502 (`empty_answer`). */
export async function summarize(switchyard: Pick<Switchyard, 'chat'>, options: SummarizeOptions): Promise<SummaryResult> {
  const { text, style, length, language, signal, deadlineMs, ...params } = options;
  const request: RoutedChatRequest = { ...params, model: params.model ?? 'auto', ...summaryRequest({ text, style, length, language }) };
  const completion = await switchyard.chat(request, { signal, deadlineMs });
  const summary = (completionText(completion) ?? '').trim();
  if (!summary) throw new GatewayError(502, `${completion.story.model} returned an empty summary`, { type: 'api_error', code: 'empty_answer' });
  return { summary, response: completion.response, story: completion.story };
}
