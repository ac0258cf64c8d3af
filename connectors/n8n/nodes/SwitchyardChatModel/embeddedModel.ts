/**
 * A chat model for n8n's AI Agent that routes inside n8n (Direct mode): the embedded core answers
 * n8n's generic messages and tools.
 */
import { BaseChatModel, getParametersJsonSchema } from '@n8n/ai-node-sdk';
import type { ChatModelConfig, FinishReason, GenerateResult, Message, StreamChunk } from '@n8n/ai-node-sdk';
import type { EmbeddedSwitchyard } from '../../vendor/switchyard-core';
import { redactError } from '../shared/failures';
import { FINISH, fromCompletion, toOpenAIMessages, toOpenAITools, usageOf } from './conversions';

export interface RoutingParams {
	prefer?: string;
	fallback_models?: string[];
}

export interface EmbeddedModelConfig extends ChatModelConfig {
	routing?: RoutingParams;
}

export class SwitchyardEmbeddedChatModel extends BaseChatModel<EmbeddedModelConfig> {
	constructor(
		private readonly core: EmbeddedSwitchyard,
		modelId: string,
		config: EmbeddedModelConfig,
		/** The credential's keys: masked in every error the Agent shows, even when an upstream echoed one. */
		private readonly secrets: readonly string[] = [],
	) {
		super('switchyard', modelId, config);
	}

	private body(messages: Message[], config: EmbeddedModelConfig | undefined, stream: boolean): Record<string, unknown> {
		const merged = { ...this.mergeConfig(config), routing: config?.routing ?? this.defaultConfig?.routing };
		const tools = toOpenAITools(this.tools, getParametersJsonSchema);
		const body: Record<string, unknown> = { model: this.modelId, messages: toOpenAIMessages(messages) };
		if (tools.length > 0) body.tools = tools;
		if (merged.temperature !== undefined) body.temperature = merged.temperature;
		if (merged.maxTokens !== undefined) body.max_tokens = merged.maxTokens;
		if (merged.topP !== undefined) body.top_p = merged.topP;
		if (merged.stopSequences?.length) body.stop = merged.stopSequences;
		if (merged.routing && Object.keys(merged.routing).length > 0) body.routing = merged.routing;
		if (stream) body.stream_options = { include_usage: true };
		return body;
	}

	private callOptions(config?: EmbeddedModelConfig) {
		const merged = this.mergeConfig(config);
		const signal = merged.abortSignal ?? (config as { signal?: AbortSignal } | undefined)?.signal;
		return { signal, deadlineMs: merged.timeout };
	}

	async generate(messages: Message[], config?: EmbeddedModelConfig): Promise<GenerateResult> {
		try {
			return fromCompletion(await this.core.chat(this.body(messages, config, false), this.callOptions(config)));
		} catch (error) {
			throw redactError(error, this.secrets);
		}
	}

	async *stream(messages: Message[], config?: EmbeddedModelConfig): AsyncIterable<StreamChunk> {
		try {
			yield* this.routedStream(messages, config);
		} catch (error) {
			throw redactError(error, this.secrets);
		}
	}

	private async *routedStream(messages: Message[], config?: EmbeddedModelConfig): AsyncIterable<StreamChunk> {
		const routed = await this.core.stream(this.body(messages, config, true), this.callOptions(config));
		let finish: FinishReason = 'other';
		let usage: GenerateResult['usage'];
		for await (const chunk of routed.chunks) {
			if (chunk.usage) usage = usageOf(chunk.usage);
			for (const choice of chunk.choices) {
				if (choice.delta.content) yield { type: 'text-delta', delta: choice.delta.content };
				for (const call of choice.delta.tool_calls ?? []) {
					yield { type: 'tool-call-delta', id: call.id, name: call.function?.name, argumentsDelta: call.function?.arguments };
				}
				if (choice.finish_reason) finish = FINISH[choice.finish_reason] ?? 'other';
			}
		}
		yield { type: 'finish', finishReason: finish, usage };
	}
}
