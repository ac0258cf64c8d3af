/**
 * Node parameters -> Switchyard chat requests, and responses -> output items.
 * Pure functions with no n8n imports, so the repository's unit tests can drive them directly.
 * Extract and Classify take the tasks bundle (the core's field schemas, labels and checks) as an argument.
 */
import type * as Tasks from '../../vendor/switchyard-tasks';
import { ParameterError, booleanOption, numberOption } from './parameters';

export type Operation = 'chat' | 'extract' | 'classify';
export type Prefer = 'balanced' | 'cost' | 'latency' | 'quality';

/**
 * The "Options" collection shared by every operation. Numbers and booleans set by an expression
 * arrive as strings: read them with `optionValues`.
 */
export interface CallOptionsParam {
	prefer?: Prefer | '';
	fallbackModels?: string[] | string;
	temperature?: number | string;
	maxTokens?: number | string;
	systemMessage?: string;
	maxCostUsd?: number | string;
	cache?: boolean | string;
	timeoutSeconds?: number | string;
}

/** The typed options, each one checked (an expression's "0.3" or "true" accepted), named in the error when wrong. */
export interface OptionValues {
	temperature?: number;
	maxTokens?: number;
	maxCostUsd?: number;
	cache?: boolean;
	timeoutSeconds?: number;
}

/** The option labels as the node shows them, for the errors. */
export const OPTION_LABELS = {
	temperature: 'Temperature',
	maxTokens: 'Max Tokens',
	maxCostUsd: 'Max Cost (USD)',
	cache: 'Cache',
	timeoutSeconds: 'Timeout (Seconds)',
} as const;

export function optionValues(options: CallOptionsParam): OptionValues {
	return {
		temperature: numberOption(options.temperature, OPTION_LABELS.temperature),
		maxTokens: numberOption(options.maxTokens, OPTION_LABELS.maxTokens),
		maxCostUsd: numberOption(options.maxCostUsd, OPTION_LABELS.maxCostUsd),
		cache: booleanOption(options.cache, OPTION_LABELS.cache),
		timeoutSeconds: numberOption(options.timeoutSeconds, OPTION_LABELS.timeoutSeconds),
	};
}

export type FieldType = 'string' | 'number' | 'integer' | 'boolean' | 'stringArray' | 'date';

export interface FieldParam {
	name: string;
	type: FieldType;
	description?: string;
	required?: boolean;
}

export interface LabelParam {
	name: string;
	description?: string;
}

export interface ChatMessage {
	role: 'system' | 'developer' | 'user' | 'assistant' | 'tool';
	content: unknown;
	[key: string]: unknown;
}

/** A type (not an interface) so that it is a ChatRequestBody of the tasks' contract. */
export type ChatBody = {
	model: string;
	messages: ChatMessage[];
	temperature?: number;
	max_tokens?: number;
	routing?: {
		prefer?: Prefer;
		fallback_models?: string[];
		max_cost_usd?: number;
		cache?: boolean;
	};
};

/** How a call was answered, as every output item reports it. */
export interface RouteFields {
	model: string;
	provider: string;
	cost_usd: number;
	latency_ms: number;
	attempts: number;
	cached: boolean;
}

/** A completion as both modes return it: OpenAI's body and the route it took. */
export interface Completion {
	text: string | null;
	finishReason: string | null;
	usage?: { prompt_tokens: number; completion_tokens: number; total_tokens: number };
	route: RouteFields & { reason?: string; requested_model?: string };
}

export { ParameterError };

const ROLES = new Set(['system', 'developer', 'user', 'assistant', 'tool']);

/** "a, b" or ["a","b"] -> ["a","b"], blanks dropped. */
export function listParam(value: string[] | string | undefined): string[] {
	const items = Array.isArray(value) ? value : (value ?? '').split(',');
	return items.map((s) => String(s).trim()).filter((s) => s.length > 0);
}

type Parsed<T> = { ok: true; value: T } | { ok: false; error: string };

function parseJson(text: string): Parsed<unknown> {
	try {
		return { ok: true, value: JSON.parse(text) as unknown };
	} catch (err) {
		return { ok: false, error: (err as Error).message };
	}
}

/** The messages parameter: a JSON array (or its string) of {role, content} objects. */
export function parseMessages(value: unknown): ChatMessage[] {
	let parsed = value;
	if (typeof value === 'string') {
		const json = parseJson(value);
		if (!json.ok) {
			throw new ParameterError(
				`'Messages' is not valid JSON: ${json.error}`,
				'Enter a JSON array such as [{"role":"system","content":"You are terse."},{"role":"user","content":"Hi"}].',
			);
		}
		parsed = json.value;
	}
	if (!Array.isArray(parsed) || parsed.length === 0) {
		throw new ParameterError("'Messages' must be a non-empty JSON array", 'Each entry is an object with "role" and "content".');
	}
	return parsed.map((m: unknown, i: number) => {
		const msg = m as Record<string, unknown> | null;
		if (!msg || typeof msg !== 'object' || typeof msg.role !== 'string' || !ROLES.has(msg.role)) {
			throw new ParameterError(
				`'Messages[${i}]' needs a "role" of system, developer, user, assistant or tool`,
				`Got ${JSON.stringify(m)?.slice(0, 120)}.`,
			);
		}
		if (msg.content === undefined && msg.role !== 'assistant') {
			throw new ParameterError(`'Messages[${i}]' has no "content"`, 'Every message needs a "content" (text or content parts).');
		}
		return msg as ChatMessage;
	});
}

function routingFrom(options: CallOptionsParam, values: OptionValues): ChatBody['routing'] {
	const routing: NonNullable<ChatBody['routing']> = {};
	if (options.prefer) routing.prefer = options.prefer;
	const fallbacks = listParam(options.fallbackModels);
	if (fallbacks.length > 0) routing.fallback_models = fallbacks;
	if (values.maxCostUsd !== undefined && values.maxCostUsd > 0) routing.max_cost_usd = values.maxCostUsd;
	if (values.cache !== undefined) routing.cache = values.cache;
	return Object.keys(routing).length > 0 ? routing : undefined;
}

function modelParam(model: string | undefined): string {
	const m = (model ?? '').trim();
	return m.length > 0 ? m : 'auto';
}

/** What every operation shares: model, sampling and routing options. */
function baseBody(model: string | undefined, messages: ChatMessage[], options: CallOptionsParam): ChatBody {
	const body: ChatBody = { model: modelParam(model), messages };
	const values = optionValues(options);
	if (values.temperature !== undefined) body.temperature = values.temperature;
	if (values.maxTokens !== undefined && values.maxTokens > 0) body.max_tokens = Math.floor(values.maxTokens);
	const routing = routingFrom(options, values);
	if (routing) body.routing = routing;
	return body;
}

function withSystem(system: string | undefined, messages: ChatMessage[]): ChatMessage[] {
	const text = system?.trim();
	return text ? [{ role: 'system', content: text }, ...messages] : messages;
}

export interface ChatParams {
	inputType: 'prompt' | 'messages';
	prompt?: string;
	messages?: unknown;
	model?: string;
	options: CallOptionsParam;
}

export function buildChatBody(p: ChatParams): ChatBody {
	let messages: ChatMessage[];
	if (p.inputType === 'messages') {
		messages = parseMessages(p.messages);
	} else {
		const prompt = (p.prompt ?? '').trim();
		if (!prompt) throw new ParameterError("'Prompt' is empty", 'Type a prompt, or map one from the input with an expression.');
		messages = [{ role: 'user', content: prompt }];
	}
	return baseBody(p.model, withSystem(p.options.systemMessage, messages), p.options);
}

/** A definition list the tasks refused, as the parameter to fix: "'Fields[1].name' repeats the name 'a'...". */
function checked<T>(result: Tasks.Checked<T>, parameter: string, description: string): T {
	if (result.ok) return result.value;
	const where = result.issue.path.map((p) => (typeof p === 'number' ? `[${p}]` : `.${p}`)).join('');
	throw new ParameterError(`'${parameter}${where}' ${result.issue.message}`, description);
}

function requiredText(value: string | undefined, hint: string): string {
	const text = (value ?? '').trim();
	if (!text) throw new ParameterError("'Text' is empty", hint);
	return text;
}

/** The node's field types as the core's (a "List of Strings" is an array of strings). */
function fieldDefinition(f: FieldParam): Tasks.FieldDefinition {
	const type = f.type === 'stringArray' ? { type: 'array' as const, items: 'string' as const } : { type: f.type as Tasks.FieldType };
	return { name: (f.name ?? '').trim(), ...type, description: f.description, required: f.required === true };
}

/** A structured call: the request and what its answer must look like. */
export interface StructuredCall<T> {
	body: ChatBody;
	spec: Tasks.StructuredSpec<T>;
}

export interface ExtractParams {
	text: string;
	fields: FieldParam[];
	instructions?: string;
	model?: string;
	options: CallOptionsParam;
}

export function buildExtractCall(p: ExtractParams, tasks: typeof Tasks): StructuredCall<Record<string, unknown>> {
	const text = requiredText(p.text, 'Map the text to extract from, e.g. {{ $json.body }}.');
	const fields = checked(
		tasks.checkFields(p.fields.map(fieldDefinition)),
		'Fields',
		'Every field needs a unique name and a type from the list, e.g. "company" (String) or "employees" (Integer).',
	);
	const task = tasks.extractionTask({ text, fields, instructions: p.instructions, system: p.options.systemMessage });
	return { body: baseBody(p.model, task.messages, p.options), spec: task.spec };
}

export interface ClassifyParams {
	text: string;
	labels: LabelParam[];
	instructions?: string;
	model?: string;
	options: CallOptionsParam;
}

export function buildClassifyCall(p: ClassifyParams, tasks: typeof Tasks): StructuredCall<Tasks.Classification> {
	const text = requiredText(p.text, 'Map the text to classify, e.g. {{ $json.message }}.');
	const named = p.labels.map((l) => ({ name: (l.name ?? '').trim(), description: l.description })).filter((l) => l.name.length > 0);
	const labels = checked(tasks.checkLabels(named), 'Labels', 'Add at least two distinct labels: the categories the text can fall into.');
	const task = tasks.classificationTask({ text, labels, instructions: p.instructions, system: p.options.systemMessage });
	return { body: baseBody(p.model, task.messages, p.options), spec: task.spec };
}

// ---------------------------------------------------------------- responses

function num(value: unknown): number | undefined {
	const n = typeof value === 'string' && value.trim() !== '' ? Number(value) : value;
	return typeof n === 'number' && Number.isFinite(n) ? n : undefined;
}

function header(headers: Record<string, unknown> | undefined, name: string): string | undefined {
	const value = headers?.[name];
	if (Array.isArray(value)) return value.length > 0 ? String(value[0]) : undefined;
	return value === undefined || value === null ? undefined : String(value);
}

/** Attempts may arrive as a count or as the list of attempts. */
function attemptCount(value: unknown): number | undefined {
	if (Array.isArray(value)) return value.length;
	return num(value);
}

/**
 * The route from a gateway response: its `switchyard` object, else its x-switchyard-* headers,
 * else what any OpenAI-compatible server says (model) and what the node measured (latency).
 */
export function routeFromResponse(body: Record<string, unknown>, headers: Record<string, unknown> | undefined, measuredMs: number): Completion['route'] {
	const sy = (body.switchyard && typeof body.switchyard === 'object' ? body.switchyard : {}) as Record<string, unknown>;
	const cacheHeader = header(headers, 'x-switchyard-cache');
	const route: Completion['route'] = {
		model: String(sy.model ?? header(headers, 'x-switchyard-model') ?? body.model ?? ''),
		provider: String(sy.provider ?? header(headers, 'x-switchyard-provider') ?? ''),
		cost_usd: num(sy.cost_usd) ?? num(header(headers, 'x-switchyard-cost-usd')) ?? 0,
		latency_ms: Math.round(num(sy.latency_ms) ?? measuredMs),
		attempts: attemptCount(sy.attempts) ?? num(header(headers, 'x-switchyard-attempts')) ?? 1,
		cached: typeof sy.cached === 'boolean' ? sy.cached : cacheHeader !== undefined ? /^(hit|true|1)$/i.test(cacheHeader) : false,
	};
	if (typeof sy.reason === 'string') route.reason = sy.reason;
	if (typeof sy.requested_model === 'string') route.requested_model = sy.requested_model;
	return route;
}

/** A chat completion body (either mode) as a Completion. */
export function toCompletion(body: Record<string, unknown>, headers: Record<string, unknown> | undefined, measuredMs: number): Completion {
	const choices = Array.isArray(body.choices) ? (body.choices as Array<Record<string, unknown>>) : [];
	const first = choices[0];
	const message = (first?.message ?? {}) as Record<string, unknown>;
	const content = message.content;
	const text = typeof content === 'string' ? content : Array.isArray(content) ? content.map((p) => (p as { text?: string }).text ?? '').join('') : null;
	const completion: Completion = {
		text,
		finishReason: typeof first?.finish_reason === 'string' ? first.finish_reason : null,
		route: routeFromResponse(body, headers, measuredMs),
	};
	const usage = body.usage as Completion['usage'] | undefined;
	if (usage && typeof usage.total_tokens === 'number') completion.usage = usage;
	return completion;
}

export type Route = Completion['route'];

/** The route as output items carry it: the six route fields, plus why that model when known. */
export function routeOutput(route: Route): Record<string, unknown> {
	const out: Record<string, unknown> = {
		model: route.model,
		provider: route.provider,
		cost_usd: route.cost_usd,
		latency_ms: route.latency_ms,
		attempts: route.attempts,
		cached: route.cached,
	};
	if (route.reason) out.reason = route.reason;
	return out;
}

export function chatOutput(c: Completion): Record<string, unknown> {
	// An empty string is no answer either: a reasoning model can spend all of max_tokens thinking ("length").
	if (c.text === null || c.text === '') {
		const model = c.route.model ? `${c.route.model} ` : '';
		throw new ParameterError(
			`The model ${model}returned no text (finish reason: ${c.finishReason ?? 'unknown'})`,
			'Raise Max Tokens, or check whether the provider refused the prompt.',
		);
	}
	const out: Record<string, unknown> = { text: c.text, ...routeOutput(c.route), finish_reason: c.finishReason };
	if (c.usage) out.usage = c.usage;
	return out;
}

/** Adds up what several calls for one item (a repair) cost; the last one's model answered. */
export function combineRoutes(routes: Route[]): Route {
	const last = routes[routes.length - 1];
	if (!last) throw new Error('combineRoutes needs at least one route');
	return {
		...last,
		cost_usd: Number(routes.reduce((s, r) => s + r.cost_usd, 0).toFixed(10)),
		latency_ms: routes.reduce((s, r) => s + r.latency_ms, 0),
		attempts: routes.reduce((s, r) => s + r.attempts, 0),
		cached: routes.every((r) => r.cached),
	};
}
