import { NodeApiError, NodeConnectionTypes, NodeOperationError } from 'n8n-workflow';
import type {
	IDataObject,
	IExecuteFunctions,
	INodeExecutionData,
	INodeType,
	INodeTypeDescription,
} from 'n8n-workflow';
import type * as Tasks from '../../vendor/switchyard-tasks';
import { switchyardClient, type CallSettings, type SwitchyardClient } from '../shared/client';
import {
	ParameterError,
	buildChatBody,
	buildClassifyCall,
	buildExtractCall,
	chatOutput,
	type CallOptionsParam,
	type FieldParam,
	type LabelParam,
	type Operation,
	OPTION_LABELS,
	routeOutput,
} from '../shared/mapping';
import { invalidReplyText, structuredCall, type StructuredResult } from '../shared/structured';
import { numberOption } from '../shared/parameters';
import { switchyardMethods } from '../shared/methods';
import { switchyardProperties } from './description';

/** The structured-output tasks (about 1 MB), loaded on the first Extract or Classify item, in either mode. */
async function loadTasks(): Promise<typeof Tasks> {
	return await import('../../vendor/switchyard-tasks');
}

export class Switchyard implements INodeType {
	description: INodeTypeDescription = {
		displayName: 'Switchyard',
		name: 'switchyard',
		icon: { light: 'file:../../icons/switchyard.svg', dark: 'file:../../icons/switchyard.dark.svg' },
		group: ['transform'],
		version: 1,
		subtitle: '={{$parameter["operation"] + ": " + $parameter["model"]}}',
		description: 'Routed, fallback-safe LLM calls (OpenAI, Anthropic, Gemini, DeepSeek, Mistral, Groq, Ollama) with model and cost per item',
		defaults: { name: 'Switchyard' },
		usableAsTool: true,
		inputs: [NodeConnectionTypes.Main],
		outputs: [NodeConnectionTypes.Main],
		credentials: [{ name: 'switchyardApi', required: true, testedBy: 'switchyardApiTest' }],
		properties: switchyardProperties,
	};

	methods = switchyardMethods;

	async execute(this: IExecuteFunctions): Promise<INodeExecutionData[][]> {
		const items = this.getInputData();
		const out: INodeExecutionData[] = [];
		const client = await switchyardClient(this);
		try {
			for (let i = 0; i < items.length; i++) {
				try {
					out.push({ json: await runItem(this, client, i), pairedItem: { item: i } });
				} catch (error) {
					const wrapped = asNodeError(this, error, i);
					if (!this.continueOnFail()) throw wrapped;
					out.push({ json: { error: wrapped.message, description: wrapped.description ?? null }, pairedItem: { item: i } });
				}
			}
		} finally {
			await client.close();
		}
		return [out];
	}
}

function asNodeError(ctx: IExecuteFunctions, error: unknown, itemIndex: number): NodeApiError | NodeOperationError {
	if (error instanceof NodeApiError || error instanceof NodeOperationError) {
		error.context.itemIndex = itemIndex;
		return error;
	}
	if (error instanceof ParameterError) {
		return new NodeOperationError(ctx.getNode(), error.message, { description: error.description, itemIndex });
	}
	return new NodeOperationError(ctx.getNode(), error as Error, { itemIndex });
}

function settingsFor(ctx: IExecuteFunctions, options: CallOptionsParam): CallSettings {
	const settings: CallSettings = {};
	const timeoutSeconds = numberOption(options.timeoutSeconds, OPTION_LABELS.timeoutSeconds);
	if (timeoutSeconds !== undefined && timeoutSeconds > 0) settings.timeoutMs = timeoutSeconds * 1000;
	const signal = ctx.getExecutionCancelSignal();
	if (signal) settings.signal = signal;
	return settings;
}

function collection<T>(ctx: IExecuteFunctions, name: string, key: string, i: number): T[] {
	const value = ctx.getNodeParameter(name, i, {}) as Record<string, T[] | undefined>;
	return value[key] ?? [];
}

async function runItem(ctx: IExecuteFunctions, client: SwitchyardClient, i: number): Promise<IDataObject> {
	const operation = ctx.getNodeParameter('operation', i) as Operation;
	const model = ctx.getNodeParameter('model', i, 'auto') as string;
	const options = ctx.getNodeParameter('options', i, {}) as CallOptionsParam;
	const settings = settingsFor(ctx, options);

	if (operation === 'chat') {
		const inputType = ctx.getNodeParameter('inputType', i, 'prompt') as 'prompt' | 'messages';
		const body = buildChatBody({
			inputType,
			prompt: inputType === 'prompt' ? (ctx.getNodeParameter('prompt', i, '') as string) : undefined,
			messages: inputType === 'messages' ? ctx.getNodeParameter('messages', i) : undefined,
			model,
			options,
		});
		return chatOutput(await client.chat(body, settings)) as IDataObject;
	}

	const text = ctx.getNodeParameter('text', i, '') as string;
	const instructions = ctx.getNodeParameter('instructions', i, '') as string;

	if (operation === 'extract') {
		const tasks = await loadTasks();
		const fields = collection<FieldParam>(ctx, 'fields', 'field', i);
		const result = await structuredCall(tasks, client, buildExtractCall({ text, fields, instructions, model, options }, tasks), settings);
		if (!result.ok) throw invalidReply(ctx, i, result);
		return { fields: result.value, ...routeOutput(result.route), repaired: result.repaired } as IDataObject;
	}

	if (operation === 'classify') {
		const tasks = await loadTasks();
		const labels = collection<LabelParam>(ctx, 'labels', 'label', i);
		const result = await structuredCall(tasks, client, buildClassifyCall({ text, labels, instructions, model, options }, tasks), settings);
		if (!result.ok) throw invalidReply(ctx, i, result);
		return { ...result.value, ...routeOutput(result.route), repaired: result.repaired } as IDataObject;
	}

	throw new NodeOperationError(ctx.getNode(), `Unknown operation '${String(operation)}'`, { itemIndex: i });
}

function invalidReply(ctx: IExecuteFunctions, itemIndex: number, result: Extract<StructuredResult<unknown>, { ok: false }>): NodeOperationError {
	const { message, description } = invalidReplyText(result);
	return new NodeOperationError(ctx.getNode(), message, { itemIndex, description });
}
