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
			const calls = m.content
				.filter((c) => c.type === 'tool-call')
				.map((c, i) => ({ id: c.toolCallId ?? `call_${i}`, type: 'function', function: { name: c.toolName ?? '', arguments: c.input || '{}' } }));
			const text = textOf(m.content);
			out.push({ role: 'assistant', content: text || null, ...(calls.length > 0 ? { tool_calls: calls } : {}) });
			continue;
		}
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
