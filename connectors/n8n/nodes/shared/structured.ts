/**
 * Extract and Classify over the node's client (either mode): the tasks bundle's structured call,
 * with one repair when the reply does not fit. Types only from n8n, so the repository's tests run it.
 */
import type * as Tasks from '../../vendor/switchyard-tasks';
import type { CallSettings, SwitchyardClient } from './client';
import type { ChatBody, Completion, Route, StructuredCall } from './mapping';
import { combineRoutes } from './mapping';

/** A repair with less time left than this is not started: it could only time out. */
export const MIN_REPAIR_MS = 1000;

export type StructuredResult<T> =
	| { ok: true; value: T; route: Route; repaired: boolean }
	| { ok: false; problem: string; repair: 'failed' | 'no_time' | 'disabled'; route: Route };

/**
 * The model to repair with: the one that answered, when Switchyard routed the call (its route names
 * a provider), so an `auto` request's repair goes back to the model that sees its own answer. A plain
 * OpenAI-compatible server reports no route: its request is repeated as it was.
 */
export function repairModel(completion: Completion): string | undefined {
	const { model, provider } = completion.route;
	return provider && model ? model : undefined;
}

/** The client as the tasks' backend: each call gets what is left of the item's Timeout (from the run). */
export function structuredBackend(client: Pick<SwitchyardClient, 'chat'>, settings: CallSettings): Tasks.StructuredBackend<Completion> {
	return {
		chat: (request, options) => {
			const call: CallSettings = { ...settings };
			if (options.signal) call.signal = options.signal;
			if (options.deadlineMs !== undefined) call.timeoutMs = options.deadlineMs;
			return client.chat(request as ChatBody, call);
		},
		text: (completion) => completion.text,
		model: repairModel,
	};
}

/** One request and at most one repair, all within the item's Timeout (`settings.timeoutMs`). */
export async function structuredCall<T>(
	tasks: Pick<typeof Tasks, 'runStructured'>,
	client: Pick<SwitchyardClient, 'chat'>,
	call: StructuredCall<T>,
	settings: CallSettings,
): Promise<StructuredResult<T>> {
	const options: Tasks.StructuredRunOptions = { minRepairMs: MIN_REPAIR_MS };
	if (settings.timeoutMs !== undefined) options.deadlineMs = settings.timeoutMs;
	if (settings.signal) options.signal = settings.signal;
	const run = await tasks.runStructured(structuredBackend(client, settings), call.body, call.spec, options);
	const route = combineRoutes(run.calls.map((c) => c.route));
	return run.ok ? { ok: true, value: run.data, route, repaired: run.repaired } : { ok: false, problem: run.problem, repair: run.repair, route };
}

/** What the user reads when the reply stayed unusable: asked twice, or no time left to ask again. */
export function invalidReplyText(result: { problem: string; repair: 'failed' | 'no_time' | 'disabled'; route: Route }): { message: string; description: string } {
	if (result.repair === 'failed') {
		return {
			message: `The model ${result.route.model} returned an unusable reply twice: the reply ${result.problem}`,
			description:
				'Switchyard asked once more with the validation error and the reply was still invalid. Pin a stronger model, simplify the fields/labels, or add descriptions to them.',
		};
	}
	return {
		message: `The model ${result.route.model} returned an unusable reply: the reply ${result.problem}`,
		description:
			result.repair === 'no_time'
				? 'Too little of the Timeout was left to ask the model again. Raise the Timeout option, or pin a faster or stronger model.'
				: 'Pin a stronger model, simplify the fields/labels, or add descriptions to them.',
	};
}
