/**
 * Entry point of the tasks bundle (dist/vendor/switchyard-tasks.js): the core's structured-output
 * tasks behind the plain-data contract of vendor/switchyard-tasks.d.ts.
 * Not compiled by the package's tsc: scripts/bundle-core.mjs bundles it with esbuild.
 */
import type { RoutedChatRequest } from '../../../src/core/routing/types';
import * as tasks from '../../../src/core/tasks';
import type {
	CallOptions,
	ChatRequestBody,
	Checked,
	Classification,
	FieldDefinition,
	LabelDefinition,
	StructuredBackend,
	StructuredRun,
	StructuredRunOptions,
	StructuredSpec,
	StructuredTask,
	TaskMessage,
} from '../vendor/switchyard-tasks';

/** zod's safeParse result, structurally (zod resolves to n8n's own copy from this folder). */
type SafeParse<T> = { success: true; data: T } | { success: false; error: { issues: ReadonlyArray<{ path: PropertyKey[]; message: string }> } };

function checked<T>(result: SafeParse<T>): Checked<T> {
	if (result.success) return { ok: true, value: result.data };
	const issue = result.error.issues[0];
	return {
		ok: false,
		issue: {
			path: (issue?.path ?? []).map((p) => (typeof p === 'number' ? p : String(p))),
			message: issue?.message ?? 'is invalid',
		},
	};
}

export function checkFields(fields: FieldDefinition[]): Checked<FieldDefinition[]> {
	return checked(tasks.FieldListSchema.safeParse(fields));
}

export function checkLabels(labels: LabelDefinition[]): Checked<LabelDefinition[]> {
	return checked(tasks.LabelListSchema.safeParse(labels));
}

/** The tasks build a system and a user message, both plain text. */
function plain<T>(task: tasks.StructuredTask<T>): StructuredTask<T> {
	return { messages: task.messages as TaskMessage[], spec: task.spec };
}

export function extractionTask(input: { text: string; fields: FieldDefinition[]; instructions?: string; system?: string }): StructuredTask<Record<string, unknown>> {
	return plain(tasks.extractionTask(input));
}

export function classificationTask(input: { text: string; labels: LabelDefinition[]; instructions?: string; system?: string }): StructuredTask<Classification> {
	return plain(tasks.classificationTask(input));
}

export function runStructured<T, C>(
	backend: StructuredBackend<C>,
	request: ChatRequestBody,
	spec: StructuredSpec<T>,
	options: StructuredRunOptions = {},
): Promise<StructuredRun<T, C>> {
	const core: tasks.StructuredBackend<C> = {
		chat: (req: RoutedChatRequest, callOptions: CallOptions) => backend.chat(req, callOptions),
		text: (completion) => backend.text(completion),
		...(backend.model ? { model: (completion: C) => backend.model?.(completion) } : {}),
	};
	return tasks.runStructured(core, request as RoutedChatRequest, spec, options);
}
