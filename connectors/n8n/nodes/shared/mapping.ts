/**
 * Node parameters -> Switchyard chat requests, and responses -> output items.
 * Pure functions with no n8n imports, so the repository's unit tests can drive them directly.
 */

export type Operation = 'chat' | 'extract' | 'classify';
export type Prefer = 'balanced' | 'cost' | 'latency' | 'quality';

/** The "Options" collection shared by every operation. */
export interface CallOptionsParam {
	prefer?: Prefer | '';
	fallbackModels?: string[] | string;
	temperature?: number;
	maxTokens?: number;
	systemMessage?: string;
	maxCostUsd?: number;
	cache?: boolean;
	timeoutSeconds?: number;
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

export interface ChatBody {
	model: string;
	messages: ChatMessage[];
	temperature?: number;
	max_tokens?: number;
	response_format?: {
		type: 'json_schema';
		json_schema: { name: string; description?: string; strict: boolean; schema: JsonSchemaObject };
	};
	routing?: {
		prefer?: Prefer;
		fallback_models?: string[];
		max_cost_usd?: number;
		cache?: boolean;
	};
}

export interface JsonSchemaObject {
	type: 'object';
	properties: Record<string, Record<string, unknown>>;
	required: string[];
	additionalProperties: false;
}

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

/** A parameter problem the user fixes in the node: which parameter and what to do. */
export class ParameterError extends Error {
	constructor(
		message: string,
		readonly description: string,
	) {
		super(message);
		this.name = 'ParameterError';
	}
}

export const AUTO_MODELS: ReadonlyArray<{ name: string; value: string; description: string }> = [
	{ name: 'Auto (Balanced)', value: 'auto', description: 'Let Switchyard pick: balance of cost, speed and quality (or the Prefer option)' },
	{ name: 'Auto: Cheapest', value: 'auto:cost', description: 'The cheapest capable model' },
	{ name: 'Auto: Fastest', value: 'auto:latency', description: 'The model expected to answer first' },
	{ name: 'Auto: Best Quality', value: 'auto:quality', description: 'The highest-quality capable model' },
];

const ROLES = new Set(['system', 'developer', 'user', 'assistant', 'tool']);

/** "a, b" or ["a","b"] -> ["a","b"], blanks dropped. */
export function listParam(value: string[] | string | undefined): string[] {
	const items = Array.isArray(value) ? value : (value ?? '').split(',');
	return items.map((s) => String(s).trim()).filter((s) => s.length > 0);
}

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

function routingFrom(options: CallOptionsParam): ChatBody['routing'] {
	const routing: NonNullable<ChatBody['routing']> = {};
	if (options.prefer) routing.prefer = options.prefer;
	const fallbacks = listParam(options.fallbackModels);
	if (fallbacks.length > 0) routing.fallback_models = fallbacks;
	if (typeof options.maxCostUsd === 'number' && options.maxCostUsd > 0) routing.max_cost_usd = options.maxCostUsd;
	if (typeof options.cache === 'boolean') routing.cache = options.cache;
	return Object.keys(routing).length > 0 ? routing : undefined;
}

function modelParam(model: string | undefined): string {
	const m = (model ?? '').trim();
	return m.length > 0 ? m : 'auto';
}

/** What every operation shares: model, sampling and routing options. */
function baseBody(model: string | undefined, messages: ChatMessage[], options: CallOptionsParam): ChatBody {
	const body: ChatBody = { model: modelParam(model), messages };
	if (typeof options.temperature === 'number') body.temperature = options.temperature;
	if (typeof options.maxTokens === 'number' && options.maxTokens > 0) body.max_tokens = Math.floor(options.maxTokens);
	const routing = routingFrom(options);
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

const FIELD_SCHEMAS: Record<FieldType, Record<string, unknown>> = {
	string: { type: 'string' },
	number: { type: 'number' },
	integer: { type: 'integer' },
	boolean: { type: 'boolean' },
	stringArray: { type: 'array', items: { type: 'string' } },
	date: { type: 'string', description: 'ISO 8601 date (YYYY-MM-DD)' },
};

function checkFields(fields: FieldParam[]): FieldParam[] {
	if (fields.length === 0) {
		throw new ParameterError("'Fields' is empty", 'Add at least one field to extract (name, type and a short description).');
	}
	const seen = new Set<string>();
	return fields.map((f, i) => {
		const name = (f.name ?? '').trim();
		if (!name) throw new ParameterError(`'Fields[${i}]' has no name`, 'Give every field a name, e.g. "company" or "job_title".');
		if (seen.has(name)) throw new ParameterError(`Field '${name}' is defined twice`, 'Field names must be unique.');
		if (!(f.type in FIELD_SCHEMAS)) throw new ParameterError(`Field '${name}' has an unknown type '${f.type}'`, 'Pick a type from the list.');
		seen.add(name);
		return { ...f, name };
	});
}

/**
 * The JSON schema of the fields, in the strict form OpenAI-style structured outputs accept:
 * every property listed as required, optional ones nullable, no extra properties.
 */
export function fieldsSchema(fields: FieldParam[]): JsonSchemaObject {
	const properties: Record<string, Record<string, unknown>> = {};
	for (const f of checkFields(fields)) {
		const base = FIELD_SCHEMAS[f.type];
		const type = f.required ? base.type : [base.type, 'null'];
		const description = [f.description?.trim(), base.description as string | undefined].filter(Boolean).join('. ');
		properties[f.name] = { ...base, type, ...(description ? { description } : {}) };
	}
	return { type: 'object', properties, required: Object.keys(properties), additionalProperties: false };
}

export interface ExtractParams {
	text: string;
	fields: FieldParam[];
	instructions?: string;
	model?: string;
	options: CallOptionsParam;
}

const EXTRACT_SYSTEM =
	'Extract the requested fields from the text the user gives. Use only information in the text; ' +
	'use null for a field the text does not state. Reply with a single JSON object and nothing else.';

export function buildExtractBody(p: ExtractParams): ChatBody {
	const text = (p.text ?? '').trim();
	if (!text) throw new ParameterError("'Text' is empty", 'Map the text to extract from, e.g. {{ $json.body }}.');
	const schema = fieldsSchema(p.fields);
	const system = [EXTRACT_SYSTEM, p.instructions?.trim(), p.options.systemMessage?.trim()].filter(Boolean).join('\n\n');
	const body = baseBody(p.model, [{ role: 'system', content: system }, { role: 'user', content: text }], p.options);
	body.response_format = { type: 'json_schema', json_schema: { name: 'extracted_fields', strict: true, schema } };
	return body;
}

function checkLabels(labels: LabelParam[]): LabelParam[] {
	const clean = labels.map((l) => ({ ...l, name: (l.name ?? '').trim() })).filter((l) => l.name.length > 0);
	if (clean.length < 2) throw new ParameterError("'Labels' needs at least two labels", 'Add the categories the text can fall into.');
	const names = new Set(clean.map((l) => l.name));
	if (names.size !== clean.length) throw new ParameterError('A label is listed twice', 'Labels must be unique.');
	return clean;
}

export function classifySchema(labels: LabelParam[]): JsonSchemaObject {
	return {
		type: 'object',
		properties: {
			label: { type: 'string', enum: checkLabels(labels).map((l) => l.name), description: 'The one label that fits the text best' },
			confidence: { type: 'number', description: 'How sure you are that the label is right, from 0 to 1' },
		},
		required: ['label', 'confidence'],
		additionalProperties: false,
	};
}

export interface ClassifyParams {
	text: string;
	labels: LabelParam[];
	instructions?: string;
	model?: string;
	options: CallOptionsParam;
}

export function buildClassifyBody(p: ClassifyParams): ChatBody {
	const text = (p.text ?? '').trim();
	if (!text) throw new ParameterError("'Text' is empty", 'Map the text to classify, e.g. {{ $json.message }}.');
	const schema = classifySchema(p.labels);
	const described = checkLabels(p.labels)
		.map((l) => `- ${l.name}${l.description?.trim() ? `: ${l.description.trim()}` : ''}`)
		.join('\n');
	const system = [
		`Classify the text the user gives into exactly one of these labels:\n${described}\n\nReply with a single JSON object {"label": ..., "confidence": 0..1} and nothing else.`,
		p.instructions?.trim(),
		p.options.systemMessage?.trim(),
	]
		.filter(Boolean)
		.join('\n\n');
	const body = baseBody(p.model, [{ role: 'system', content: system }, { role: 'user', content: text }], p.options);
	body.response_format = { type: 'json_schema', json_schema: { name: 'classification', strict: true, schema } };
	return body;
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
	if (c.text === null) {
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

// ---------------------------------------------------------------- structured answers

export type Parsed<T> = { ok: true; value: T } | { ok: false; error: string };

/** The JSON object in a reply; tolerates a Markdown code fence around it. */
export function parseJsonObject(text: string | null): Parsed<Record<string, unknown>> {
	if (text === null || text.trim() === '') return { ok: false, error: 'the reply was empty' };
	const fenced = /^\s*```(?:json)?\s*([\s\S]*?)\s*```\s*$/i.exec(text);
	const raw = (fenced?.[1] ?? text).trim();
	try {
		const value: unknown = JSON.parse(raw);
		if (!value || typeof value !== 'object' || Array.isArray(value)) return { ok: false, error: 'the reply is JSON but not an object' };
		return { ok: true, value: value as Record<string, unknown> };
	} catch (err) {
		return { ok: false, error: `the reply is not valid JSON (${(err as Error).message})` };
	}
}

function fieldValueError(f: FieldParam, value: unknown): string | undefined {
	if (value === null || value === undefined) return f.required ? `'${f.name}' is required but missing` : undefined;
	switch (f.type) {
		case 'string':
		case 'date':
			return typeof value === 'string' ? undefined : `'${f.name}' must be a string`;
		case 'number':
			return typeof value === 'number' && Number.isFinite(value) ? undefined : `'${f.name}' must be a number`;
		case 'integer':
			return Number.isInteger(value) ? undefined : `'${f.name}' must be an integer`;
		case 'boolean':
			return typeof value === 'boolean' ? undefined : `'${f.name}' must be true or false`;
		case 'stringArray':
			return Array.isArray(value) && value.every((v) => typeof v === 'string') ? undefined : `'${f.name}' must be a list of strings`;
	}
}

/** The extracted fields, every defined field present (null when the text did not say). */
export function parseExtraction(text: string | null, fields: FieldParam[]): Parsed<Record<string, unknown>> {
	const json = parseJsonObject(text);
	if (!json.ok) return json;
	const out: Record<string, unknown> = {};
	const problems: string[] = [];
	for (const f of checkFields(fields)) {
		const value = json.value[f.name];
		const problem = fieldValueError(f, value);
		if (problem) problems.push(problem);
		out[f.name] = value ?? null;
	}
	return problems.length > 0 ? { ok: false, error: problems.join('; ') } : { ok: true, value: out };
}

export function parseClassification(text: string | null, labels: LabelParam[]): Parsed<{ label: string; confidence: number }> {
	const json = parseJsonObject(text);
	if (!json.ok) return json;
	const names = checkLabels(labels).map((l) => l.name);
	const given = typeof json.value.label === 'string' ? json.value.label.trim() : undefined;
	const label = given === undefined ? undefined : names.find((n) => n === given) ?? names.find((n) => n.toLowerCase() === given.toLowerCase());
	if (!label) return { ok: false, error: `"label" must be one of ${names.map((n) => JSON.stringify(n)).join(', ')}, got ${JSON.stringify(json.value.label)}` };
	const confidence = num(json.value.confidence);
	if (confidence === undefined || confidence < 0 || confidence > 1) {
		return { ok: false, error: `"confidence" must be a number from 0 to 1, got ${JSON.stringify(json.value.confidence)}` };
	}
	return { ok: true, value: { label, confidence } };
}

/** The follow-up that asks the model to fix an invalid structured reply (one repair attempt). */
export function repairBody(body: ChatBody, reply: string | null, error: string): ChatBody {
	return {
		...body,
		messages: [
			...body.messages,
			{ role: 'assistant', content: reply ?? '' },
			{
				role: 'user',
				content: `Your reply could not be used: ${error}. Reply again with only the JSON object that matches the schema, and nothing else.`,
			},
		],
	};
}
