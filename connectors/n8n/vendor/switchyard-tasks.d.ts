/**
 * The contract of the embedded structured-output tasks (Extract and Classify, both modes).
 *
 * `dist/vendor/switchyard-tasks.js` is built by `scripts/bundle-core.mjs` (esbuild) from
 * `core/switchyard-tasks.ts`, which wraps the repository's `src/core/tasks` (field definitions ->
 * JSON schema, label lists, the checked structured call with one repair) with zod and ajv. It is a
 * bundle of its own, apart from the routing core, so Gateway-server mode loads about 1 MB instead
 * of the whole core. The implementation is type-checked against this file by the repository's
 * `npm run typecheck` (test/n8n/tasks.test.ts).
 */

export type JsonSchema = Record<string, unknown>;

export type FieldType = 'string' | 'number' | 'integer' | 'boolean' | 'date' | 'array' | 'object';

/** One field to extract; `required` fields are never null, others are null when the text is silent. */
export interface FieldDefinition {
	name: string;
	type?: FieldType;
	description?: string;
	required?: boolean;
	/** Arrays: the type of their items (default string). */
	items?: Exclude<FieldType, 'array'>;
	/** Objects, and arrays of objects: their fields. */
	fields?: FieldDefinition[];
}

export interface LabelDefinition {
	name: string;
	description?: string;
}

/** The first problem of a definition list: where (e.g. [1, "name"]) and what, as a predicate ("has no name"). */
export interface Issue {
	path: Array<string | number>;
	message: string;
}

export type Checked<T> = { ok: true; value: T } | { ok: false; issue: Issue };

export type Check<T> = { ok: true; value: T } | { ok: false; problem: string };

/** A type (not an interface), so it fits message types with an index signature. */
export type TaskMessage = {
	role: 'system' | 'user';
	content: string;
};

/** What a structured answer must look like (sent as response_format) and how it is checked. */
export interface StructuredSpec<T> {
	name: string;
	schema: JsonSchema;
	description?: string;
	strict?: boolean;
	validationSchema?: JsonSchema;
	refine?: (value: unknown) => Check<T>;
}

export interface StructuredTask<T> {
	messages: TaskMessage[];
	spec: StructuredSpec<T>;
}

/** A chat request body (OpenAI's, plus Switchyard's `routing` and `models`). */
export interface ChatRequestBody {
	model: string;
	messages: Array<{ role: string; content?: unknown }>;
	[key: string]: unknown;
}

export interface CallOptions {
	signal?: AbortSignal;
	/** Overall deadline for the call, fallbacks included. */
	deadlineMs?: number;
}

/** Where structured calls go; what a call returns (`C`) is the caller's own. */
export interface StructuredBackend<C> {
	chat(request: ChatRequestBody, options: CallOptions): Promise<C>;
	/** The answer's text, null when there is none. */
	text(completion: C): string | null;
	/** The model that answered: when given, the repair call goes to it first. */
	model?(completion: C): string | undefined;
}

export interface StructuredRunOptions extends CallOptions {
	/** One repair call for an invalid answer (default true). */
	repair?: boolean;
	/** With `deadlineMs`: no repair call with less time than this left. */
	minRepairMs?: number;
}

/** `problem` reads after "the answer", e.g. "is not valid JSON (...)", "does not match the schema: name is missing". */
export type StructuredRun<T, C> =
	| { ok: true; data: T; text: string; calls: C[]; repaired: boolean }
	| { ok: false; problem: string; repair: 'failed' | 'no_time' | 'disabled'; calls: C[] };

export interface Classification {
	label: string;
	confidence: number;
}

/** Validates field definitions (unique names, known types, nested fields where needed). */
export declare function checkFields(fields: FieldDefinition[]): Checked<FieldDefinition[]>;

/** Validates labels: at least two, unique whatever their case. */
export declare function checkLabels(labels: LabelDefinition[]): Checked<LabelDefinition[]>;

/** Messages and spec of an extraction (throws on definitions that checkFields refuses). */
export declare function extractionTask(input: {
	text: string;
	fields: FieldDefinition[];
	instructions?: string;
	system?: string;
}): StructuredTask<Record<string, unknown>>;

/** Messages and spec of a classification; the answer's label is matched to the given spelling. */
export declare function classificationTask(input: {
	text: string;
	labels: LabelDefinition[];
	instructions?: string;
	system?: string;
}): StructuredTask<Classification>;

/** Asks for the structured answer and checks it; an invalid one gets exactly one repair call. */
export declare function runStructured<T, C>(
	backend: StructuredBackend<C>,
	request: ChatRequestBody,
	spec: StructuredSpec<T>,
	options?: StructuredRunOptions,
): Promise<StructuredRun<T, C>>;
