import { supplyModel } from '@n8n/ai-node-sdk';
import { NodeConnectionTypes, NodeOperationError } from 'n8n-workflow';
import type {
	INodeType,
	INodeTypeDescription,
	ISupplyDataFunctions,
	SupplyData,
} from 'n8n-workflow';
import {
	CREDENTIAL_NAME,
	credentialMode,
	credentialSecrets,
	gatewayBaseUrl,
	type SwitchyardCredentialData,
} from '../shared/credentials';
import { acquireDirectCore } from '../shared/client';
import { listParam } from '../shared/mapping';
import type { ParameterError } from '../shared/parameters';
import { modelSettings, type ModelOptions, type ModelSettings } from './settings';
import { switchyardMethods } from '../shared/methods';
import { SwitchyardEmbeddedChatModel, type RoutingParams } from './embeddedModel';

function routingOf(options: ModelOptions): RoutingParams | undefined {
	const routing: RoutingParams = {};
	if (options.prefer) routing.prefer = options.prefer;
	const fallbacks = listParam(options.fallbackModels);
	if (fallbacks.length > 0) routing.fallback_models = fallbacks;
	return Object.keys(routing).length > 0 ? routing : undefined;
}

export class SwitchyardChatModel implements INodeType {
	description: INodeTypeDescription = {
		displayName: 'Switchyard Chat Model',
		name: 'switchyardChatModel',
		icon: { light: 'file:../../icons/switchyard.svg', dark: 'file:../../icons/switchyard.dark.svg' },
		group: ['transform'],
		version: [1],
		description: 'Routed chat model for the AI Agent: Auto picks by cost, speed and quality, with fallback',
		subtitle: '={{$parameter["model"]}}',
		defaults: { name: 'Switchyard Chat Model' },
		codex: {
			categories: ['AI'],
			subcategories: {
				AI: ['Language Models', 'Root Nodes'],
				'Language Models': ['Chat Models (Recommended)'],
			},
			resources: {
				primaryDocumentation: [{ url: 'https://github.com/switchyard-ai/switchyard/tree/main/connectors/n8n#switchyard-chat-model' }],
			},
		},
		inputs: [],
		outputs: [NodeConnectionTypes.AiLanguageModel],
		outputNames: ['Model'],
		credentials: [{ name: 'switchyardApi', required: true, testedBy: 'switchyardApiTest' }],
		properties: [
			{
				displayName: 'Model Name or ID',
				name: 'model',
				type: 'options',
				typeOptions: { loadOptionsMethod: 'getModels' },
				default: 'auto',
				description:
					'Auto lets Switchyard choose per call; or pin a model (provider/model). Choose from the list, or specify an ID using an <a href="https://docs.n8n.io/code/expressions/">expression</a>.',
			},
			{
				displayName: 'Options',
				name: 'options',
				placeholder: 'Add Option',
				type: 'collection',
				default: {},
				options: [
					{
						displayName: 'Fallback Model Names or IDs',
						name: 'fallbackModels',
						type: 'multiOptions',
						typeOptions: { loadOptionsMethod: 'getModels' },
						default: [],
						description:
							'Models to try, in order, when the chosen one fails. Choose from the list, or specify IDs using an <a href="https://docs.n8n.io/code/expressions/">expression</a>.',
					},
					{
						displayName: 'Max Tokens',
						name: 'maxTokens',
						type: 'number',
						typeOptions: { minValue: 1 },
						default: 1024,
						description: 'The maximum number of tokens to generate per call',
					},
					{
						displayName: 'Prefer',
						name: 'prefer',
						type: 'options',
						options: [
							{ name: 'Balanced', value: 'balanced' },
							{ name: 'Lowest Cost', value: 'cost' },
							{ name: 'Lowest Latency', value: 'latency' },
							{ name: 'Highest Quality', value: 'quality' },
						],
						default: 'balanced',
						description: 'What Auto optimises for, and how fallbacks are ranked',
					},
					{
						displayName: 'Sampling Temperature',
						name: 'temperature',
						type: 'number',
						typeOptions: { minValue: 0, maxValue: 2, numberPrecision: 1 },
						default: 0.7,
						description: 'Higher is more varied, lower is more deterministic',
					},
					{
						displayName: 'Timeout (Seconds)',
						name: 'timeoutSeconds',
						type: 'number',
						typeOptions: { minValue: 1 },
						default: 120,
						description: 'Give up on a call after this long, fallbacks included',
					},
				],
			},
		],
	};

	methods = switchyardMethods;

	async supplyData(this: ISupplyDataFunctions, itemIndex: number): Promise<SupplyData> {
		const data = (await this.getCredentials(CREDENTIAL_NAME)) as SwitchyardCredentialData;
		const model = (this.getNodeParameter('model', itemIndex, 'auto') as string) || 'auto';
		const options = this.getNodeParameter('options', itemIndex, {}) as ModelOptions;
		const routing = routingOf(options);
		let settings: ModelSettings;
		try {
			settings = modelSettings(options);
		} catch (error) {
			// modelSettings only throws ParameterError: an option the user fixes in this node.
			const problem = error as ParameterError;
			throw new NodeOperationError(this.getNode(), problem.message, { description: problem.description, itemIndex });
		}
		const { temperature, maxTokens, timeout } = settings;

		if (credentialMode(data) === 'gateway') {
			// The gateway is OpenAI-compatible: n8n's own OpenAI chat model talks to it; routing travels in the body.
			return supplyModel(this, {
				type: 'openai',
				baseUrl: `${gatewayBaseUrl(data)}/v1`,
				apiKey: data.gatewayApiKey?.trim() || 'no-key',
				model,
				temperature,
				maxTokens,
				timeout,
				...(routing ? { additionalParams: { routing } } : {}),
			});
		}

		// The same pooled core as the Switchyard node's: health and circuit state carry across executions.
		const lease = await acquireDirectCore(data);
		const chatModel = new SwitchyardEmbeddedChatModel(
			lease.core,
			model,
			{ temperature, maxTokens, timeout, routing },
			credentialSecrets(data),
		);
		return { ...supplyModel(this, chatModel), closeFunction: async () => lease.release() };
	}
}
