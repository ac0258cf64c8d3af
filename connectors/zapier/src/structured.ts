import { runStructured, type RoutedChatRequest, type StructuredSpec } from './core';
import type { ChatOutcome } from './backends/types';
import { StepError } from './errors';
import { MIN_CALL_BUDGET_MS } from './limits';
import type { StepContext } from './step';

export interface StructuredOutcome<T> {
  value: T;
  /** Every call made: the first, and the repair if there was one. */
  outcomes: ChatOutcome[];
  repaired: boolean;
}

/**
 * The core's structured output (schema sent, answer checked, one repair call) through the step's
 * backend, Direct or Gateway. Both calls share the step's deadline; the repair goes to the model
 * that answered, and is not started when too little time is left for it.
 */
export async function askStructured<T>(ctx: StepContext, request: RoutedChatRequest, spec: StructuredSpec<T>): Promise<StructuredOutcome<T>> {
  const backend = {
    chat: (req: RoutedChatRequest) => ctx.backend.chat(req, ctx.deadline),
    text: (outcome: ChatOutcome) => outcome.text,
    model: (outcome: ChatOutcome) => outcome.model,
  };
  const run = await runStructured(backend, request, spec, { deadlineMs: ctx.deadline.remainingMs(), minRepairMs: MIN_CALL_BUDGET_MS });
  if (run.ok) return { value: run.data, outcomes: run.calls, repaired: run.repaired };
  const model = run.calls[run.calls.length - 1]?.model ?? 'The model';
  if (run.repair === 'no_time') {
    throw new StepError(
      `${model}'s answer did not match the requested format (the answer ${run.problem}) and no time was left to repair it. Pick a faster model or set Prefer to "latency".`,
      'invalid_model_output',
      502,
    );
  }
  throw new StepError(
    `${model}'s answer did not match the requested format after one repair attempt (the answer ${run.problem}). Set Prefer to "quality" or pick a stronger model, or simplify the input.`,
    'invalid_model_output',
    502,
  );
}
