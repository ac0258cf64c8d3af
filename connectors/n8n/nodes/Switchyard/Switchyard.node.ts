import { NodeApiError, NodeConnectionTypes, NodeOperationError } from 'n8n-workflow';
import type {
	IDataObject,
	IExecuteFunctions,
	ILoadOptionsFunctions,
	INodeExecutionData,
	INodePropertyOptions,
	INodeType,
	INodeTypeDescription,
} from 'n8n-workflow';
import { switchyardClient, type CallSettings, type SwitchyardClient } from '../shared/client';
import { switchyardApiTest } from '../shared/credentialTest';
import { CREDENTIAL_TEST } from '../shared/credentials';
import {
	ParameterError,
	buildChatBody,
	buildClassifyBody,
	buildExtractBody,
	chatOutput,
	combineRoutes,
	parseClassification,
	parseExtraction,
	repairBody,
	type CallOptionsParam,
	type ChatBody,
	type FieldParam,
	type LabelParam,
	type Operation,
	type Parsed,
	type Route,
	routeOutput,
} from '../shared/mapping';
import { switchyardProperties } from './description';

interface Structured<T> {
	value: T;
	route: Route;
	repaired: boolean;
}

/** A structured call: one request, and one repair request when the reply does not parse or validate. */
async function structuredCall<T>(
	client: SwitchyardClient,
	body: ChatBody,
	settings: CallSettings,
	parse: (text: string | null) => Parsed<T>,
): Promise<Structured<T> | { error: string; route: Route }> {
	const first = await client.chat(body, settings);
	const parsed = parse(first.text);
	if (parsed.ok) return { value: parsed.value, route: first.route, repaired: false };
	const second = await client.chat(repairBody(body, first.text, parsed.error), settings);
	const reparsed = parse(second.text);
	const route = combineRoutes([first.route, second.route]);
	return reparsed.ok ? { value: reparsed.value, route, repaired: true } : { error: reparsed.error, route };
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

	methods = {
		loadOptions: {
			async getModels(this: ILoadOptionsFunctions): Promise<INodePropertyOptions[]> {
				const client = await switchyardClient(this);
				try {
					return await client.models();
				} finally {
					await client.close();
				}
			},
		},
		credentialTest: { [CREDENTIAL_TEST]: switchyardApiTest },
	};

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
	if (typeof options.timeoutSeconds === 'number' && options.timeoutSeconds > 0) settings.timeoutMs = options.timeoutSeconds * 1000;
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
		const fields = collection<FieldParam>(ctx, 'fields', 'field', i);
		const body = buildExtractBody({ text, fields, instructions, model, options });
		const result = await structuredCall(client, body, settings, (reply) => parseExtraction(reply, fields));
		if ('error' in result) throw invalidReply(ctx, i, result);
		return { fields: result.value, ...routeOutput(result.route), repaired: result.repaired } as IDataObject;
	}

	if (operation === 'classify') {
		const labels = collection<LabelParam>(ctx, 'labels', 'label', i);
		const body = buildClassifyBody({ text, labels, instructions, model, options });
		const result = await structuredCall(client, body, settings, (reply) => parseClassification(reply, labels));
		if ('error' in result) throw invalidReply(ctx, i, result);
		return { ...result.value, ...routeOutput(result.route), repaired: result.repaired } as IDataObject;
	}

	throw new NodeOperationError(ctx.getNode(), `Unknown operation '${String(operation)}'`, { itemIndex: i });
}

function invalidReply(ctx: IExecuteFunctions, itemIndex: number, result: { error: string; route: Route }): NodeOperationError {
	return new NodeOperationError(ctx.getNode(), `The model ${result.route.model} returned an unusable reply twice: ${result.error}`, {
		itemIndex,
		description:
			'Switchyard asked once more with the validation error and the reply was still invalid. Pin a stronger model, simplify the fields/labels, or add descriptions to them.',
	});
}
