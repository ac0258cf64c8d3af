import type { ChatResponse } from '../core';
import { StepError, sentences } from '../errors';

/** What one attempt looked like, whichever backend reported it. */
export interface AttemptSummary {
  model: string;
  outcome: string;
  status?: number;
  latencyMs?: number;
}

/** "openai/gpt-4.1-mini: rate_limited (429, 120 ms); anthropic/claude-haiku-4-5: ok (900 ms)". */
export function attemptLog(attempts: readonly AttemptSummary[]): string {
  return attempts
    .map((a) => {
      const details = [a.status !== undefined && a.outcome !== 'ok' ? String(a.status) : undefined, a.latencyMs !== undefined ? `${Math.round(a.latencyMs)} ms` : undefined]
        .filter(Boolean)
        .join(', ');
      return `${a.model}: ${a.outcome}${details ? ` (${details})` : ''}`;
    })
    .join('; ');
}

/** The answer's text; a refusal or an empty answer is an error the user can act on. */
export function answerText(response: Pick<ChatResponse, 'choices'>, model: string): { text: string; finishReason: string | null } {
  const choice = response.choices[0];
  const text = choice?.message.content ?? '';
  if (!text && choice?.message.refusal) {
    throw new StepError(sentences(`${model} declined to answer: ${choice.message.refusal}`, 'Rephrase the prompt or pick another model.'), 'refusal', 400);
  }
  if (!text) {
    throw new StepError(`${model} returned an empty answer${choice ? ` (finish reason: ${choice.finish_reason})` : ''}. Try again or pick another model.`, 'empty_answer', 502);
  }
  return { text, finishReason: choice?.finish_reason ?? null };
}
