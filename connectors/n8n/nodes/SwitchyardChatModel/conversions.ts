/**
 * n8n's generic chat messages and tools <-> OpenAI-style requests and completions, for the
 * embedded chat model. Structural types only (no SDK import), so the repository's unit tests can run them.
 */
import type { RoutedChatCompletion, Usage } from '../../vendor/switchyard-core';

/** The parts of @n8n/ai-node-sdk's message content this conversion reads. */
export interface GenericContent {
	type: string;
	text?: string;
	toolCallId?: string;
	toolName?: string;
	input?: string;
	result?: unknown;
	/** Files: base64 (or a data: URL) or raw bytes, with their media type when known. */
	mediaType?: string;
	data?: string | Uint8Array;
	/** Files given by address carry it here (`url`), as the SDK converts LangChain's image blocks. */
	providerMetadata?: Record<string, unknown>;
}

export interface GenericMessage {
	role: 'system' | 'user' | 'assistant' | 'tool';
	content: GenericContent[];
}

export interface GenericFunctionTool {
	type: 'function';
	name: string;
	description?: string;
}

export type FinishReason = 'stop' | 'length' | 'content-filter' | 'tool-calls' | 'error' | 'other';

export type ResultContent =
	| { type: 'text'; text: string }
	| { type: 'tool-call'; toolCallId: string; toolName: string; input: string };

export interface GenericUsage {
	promptTokens: number;
	completionTokens: number;
	totalTokens: number;
}

export interface GenericResult {
	id?: string;
	finishReason: FinishReason;
	usage?: GenericUsage;
	message: { role: 'assistant'; content: ResultContent[] };
	providerMetadata: Record<string, unknown>;
}

type OpenAIMessage = Record<string, unknown>;

/** OpenAI's content parts the core carries for user messages (src/core/schema.ts). */
export type OpenAIContentPart = { type: 'text'; text: string } | { type: 'image_url'; image_url: { url: string } };

/** A message part the model cannot be sent: raised instead of dropping the part silently. */
export class UnsupportedContentError extends Error {
	constructor(message: string) {
		super(message);
		this.name = 'UnsupportedContentError';
	}
}

/** Annotations of an earlier answer (its reasoning, its citations): not content a chat request carries. */
const ANNOTATIONS = new Set(['reasoning', 'citation']);

export const FINISH: Record<string, FinishReason> = {
	stop: 'stop',
	length: 'length',
	tool_calls: 'tool-calls',
	content_filter: 'content-filter',
};

function textOf(content: GenericContent[]): string {
	return content
		.filter((c) => c.type === 'text' && typeof c.text === 'string')
		.map((c) => c.text)
		.join('\n');
}

function unsupported(part: GenericContent, role: string, what = `a '${part.type}' part`): UnsupportedContentError {
	return new UnsupportedContentError(
		`Switchyard Chat Model cannot send ${what} in ${role === 'assistant' ? 'an' : 'a'} ${role} message: the model takes text, and images in user messages (image/* data, or an http(s) or data: URL). Remove it, or turn off the Agent's binary passthrough for such files.`,
	);
}

/** A file as the error names it: its name (the Agent's passthrough gives one) and media type. */
function fileName(part: GenericContent): string {
	const name = part.providerMetadata?.filename;
	const named = typeof name === 'string' && name.trim() ? ` '${name.trim().slice(0, 100)}'` : '';
	return `a file${named}${part.mediaType ? ` (${part.mediaType})` : ' without an image media type'}`;
}

/** Only text parts are allowed (besides annotations, which are left out); anything else is refused by name. */
function checkOnly(content: GenericContent[], role: string, allowed: readonly string[]): void {
	const other = content.find((c) => !allowed.includes(c.type) && !ANNOTATIONS.has(c.type));
	if (other) throw unsupported(other, role, other.type === 'file' ? fileName(other) : undefined);
}

function base64Of(data: Uint8Array): string {
	return Buffer.from(data).toString('base64');
}

/** The address of an image file part: its URL, a data: URL, or its bytes as a data: URL; undefined when it is no image. */
function imageUrlOf(part: GenericContent): string | undefined {
	const mediaType = part.mediaType?.trim().toLowerCase();
	if (mediaType && !mediaType.startsWith('image/')) return undefined;
	const url = part.providerMetadata?.url;
	if (typeof url === 'string' && /^https?:\/\//i.test(url)) return url;
	const dataUrl = typeof url === 'string' && url.startsWith('data:') ? url : typeof part.data === 'string' && part.data.startsWith('data:') ? part.data : undefined;
	if (dataUrl) return /^data:image\//i.test(dataUrl) ? dataUrl : undefined;
	if (!mediaType || part.data === undefined || part.data.length === 0) return undefined;
	const base64 = typeof part.data === 'string' ? part.data.trim() : base64Of(part.data);
	return `data:${mediaType};base64,${base64}`;
}

/** A user message's parts in OpenAI's shape: text as text parts, image files as image_url parts. */
function userParts(content: GenericContent[]): OpenAIContentPart[] {
	const parts: OpenAIContentPart[] = [];
	for (const c of content) {
		if (ANNOTATIONS.has(c.type)) continue;
		if (c.type === 'text' && typeof c.text === 'string') {
			parts.push({ type: 'text', text: c.text });
			continue;
		}
		const url = c.type === 'file' ? imageUrlOf(c) : undefined;
		if (url === undefined) throw unsupported(c, 'user', c.type === 'file' ? fileName(c) : undefined);
		parts.push({ type: 'image_url', image_url: { url } });
	}
	return parts;
}

/** Plain text stays a string (as before); with an image the message becomes OpenAI's content-part list. */
function userContent(content: GenericContent[]): string | OpenAIContentPart[] {
	const parts = userParts(content);
	return parts.every((p) => p.type === 'text') ? textOf(content) : parts;
}

function resultText(result: unknown): string {
	return typeof result === 'string' ? result : JSON.stringify(result ?? null);
}

/** One n8n message can become several OpenAI ones (each tool result is its own `tool` message). */
export function toOpenAIMessages(messages: GenericMessage[]): OpenAIMessage[] {
	const out: OpenAIMessage[] = [];
	for (const m of messages) {
		if (m.role === 'tool') {
			for (const c of m.content) {
				if (c.type === 'tool-result') out.push({ role: 'tool', tool_call_id: c.toolCallId, content: resultText(c.result) });
			}
			continue;
		}
		if (m.role === 'assistant') {
			checkOnly(m.content, 'assistant', ['text', 'tool-call']);
			const calls = m.content
				.filter((c) => c.type === 'tool-call')
				.map((c, i) => ({ id: c.toolCallId ?? `call_${i}`, type: 'function', function: { name: c.toolName ?? '', arguments: c.input || '{}' } }));
			const text = textOf(m.content);
			out.push({ role: 'assistant', content: text || null, ...(calls.length > 0 ? { tool_calls: calls } : {}) });
			continue;
		}
		if (m.role === 'user') {
			out.push({ role: 'user', content: userContent(m.content) });
			continue;
		}
		checkOnly(m.content, m.role, ['text']);
		out.push({ role: m.role, content: textOf(m.content) });
	}
	return out;
}

/** Function tools in OpenAI's shape; `parameters` is the tool's JSON schema (the SDK converts zod schemas). */
export function toOpenAITools<T extends GenericFunctionTool>(
	tools: ReadonlyArray<T | { type: string }>,
	parameters: (tool: T) => unknown,
): Array<Record<string, unknown>> {
	return tools
		.filter((t): t is T => t.type === 'function')
		.map((t) => ({
			type: 'function',
			function: { name: t.name, ...(t.description ? { description: t.description } : {}), parameters: parameters(t) },
		}));
}

export function usageOf(usage: Usage | null | undefined): GenericUsage | undefined {
	return usage ? { promptTokens: usage.prompt_tokens, completionTokens: usage.completion_tokens, totalTokens: usage.total_tokens } : undefined;
}

export function fromCompletion(response: RoutedChatCompletion): GenericResult {
	const choice = response.choices[0];
	const content: ResultContent[] = [];
	if (choice?.message.content) content.push({ type: 'text', text: choice.message.content });
	for (const call of choice?.message.tool_calls ?? []) {
		content.push({ type: 'tool-call', toolCallId: call.id, toolName: call.function.name, input: call.function.arguments });
	}
	return {
		id: response.id,
		finishReason: FINISH[choice?.finish_reason ?? ''] ?? 'other',
		usage: usageOf(response.usage),
		message: { role: 'assistant', content },
		providerMetadata: { switchyard: response.switchyard },
	};
}
