import { z } from 'zod';
import type { ChatMessage, RoutedChatRequest } from './core';
import type { ChatOutcome } from './backends/types';
import { StepError } from './errors';
import { MIN_CALL_BUDGET_MS } from './limits';
import type { StepContext } from './step';

/** JSON from a model's text: tolerates a ```json fence or words around one object. */
export function parseModelJson(text: string): unknown {
  const fenced = /```(?:json)?\s*([\s\S]*?)```/i.exec(text);
  const candidate = (fenced?.[1] ?? text).trim();
  try {
    return JSON.parse(candidate);
  } catch {
    const start = candidate.indexOf('{');
    const end = candidate.lastIndexOf('}');
    if (start >= 0 && end > start) return JSON.parse(candidate.slice(start, end + 1));
    throw new SyntaxError('not JSON');
  }
}

/** Why a value does not fit, in words a model (and a user) can act on. */
function describeIssues(error: z.ZodError): string {
  return error.issues
    .slice(0, 5)
    .map((issue) => `${issue.path.length > 0 ? issue.path.join('.') : 'the answer'}: ${issue.message}`)
    .join('; ');
}

type Check<T> = { ok: true; value: T } | { ok: false; problem: string };

function check<T>(text: string, schema: z.ZodType<T>): Check<T> {
  let value: unknown;
  try {
    value = parseModelJson(text);
  } catch {
    return { ok: false, problem: 'the answer is not a JSON object' };
  }
  const parsed = schema.safeParse(value);
  return parsed.success ? { ok: true, value: parsed.data } : { ok: false, problem: describeIssues(parsed.error) };
}

export interface StructuredResult<T> {
  value: T;
  /** Every call made: the first, and the repair if there was one. */
  outcomes: ChatOutcome[];
  repaired: boolean;
}

/**
 * Asks for JSON (the request carries a json_schema response format) and validates it; an invalid
 * answer gets exactly one repair call that shows the model its answer and what was wrong.
 */
export async function askForJson<T>(ctx: StepContext, request: RoutedChatRequest, schema: z.ZodType<T>): Promise<StructuredResult<T>> {
  const first = await ctx.backend.chat(request, ctx.deadline);
  const firstCheck = check(first.text, schema);
  if (firstCheck.ok) return { value: firstCheck.value, outcomes: [first], repaired: false };

  if (ctx.deadline.remainingMs() < MIN_CALL_BUDGET_MS) {
    throw new StepError(
      `${first.model}'s answer did not match the requested format (${firstCheck.problem}) and no time was left to repair it. Pick a faster model or set Prefer to "latency".`,
      'invalid_model_output',
      502,
    );
  }
  const repairMessages: ChatMessage[] = [
    ...request.messages,
    { role: 'assistant', content: first.text },
    { role: 'user', content: `That answer is not valid: ${firstCheck.problem}. Reply again with only the corrected JSON object, following the schema exactly.` },
  ];
  // The repair goes to the model that answered (it sees its own answer); the fallbacks still apply.
  const second = await ctx.backend.chat({ ...request, model: first.model, messages: repairMessages }, ctx.deadline);
  const secondCheck = check(second.text, schema);
  if (secondCheck.ok) return { value: secondCheck.value, outcomes: [first, second], repaired: true };
  throw new StepError(
    `${second.model}'s answer did not match the requested format after one repair attempt (${secondCheck.problem}). Set Prefer to "quality" or pick a stronger model, or simplify the input.`,
    'invalid_model_output',
    502,
  );
}
