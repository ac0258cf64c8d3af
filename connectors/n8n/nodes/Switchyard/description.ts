import type { INodeProperties } from 'n8n-workflow';

const chat = { show: { operation: ['chat'] } };
const extract = { show: { operation: ['extract'] } };
const classify = { show: { operation: ['classify'] } };

export const operationProperty: INodeProperties = {
	displayName: 'Operation',
	name: 'operation',
	type: 'options',
	noDataExpression: true,
	options: [
		{
			name: 'Chat',
			value: 'chat',
			description: 'Send a prompt or a conversation and get the answer text',
			action: 'Chat with a routed model',
		},
		{
			name: 'Classify',
			value: 'classify',
			description: 'Put the text into one of your labels, with a confidence',
			action: 'Classify text into a label',
		},
		{
			name: 'Extract',
			value: 'extract',
			description: 'Pull the fields you define out of text as structured data',
			action: 'Extract fields from text',
		},
	],
	default: 'chat',
};

const chatProperties: INodeProperties[] = [
	{
		displayName: 'Input',
		name: 'inputType',
		type: 'options',
		options: [
			{ name: 'Prompt', value: 'prompt', description: 'One user message' },
			{ name: 'Messages (JSON)', value: 'messages', description: 'A conversation: a JSON array of {role, content}' },
		],
		default: 'prompt',
		displayOptions: chat,
	},
	{
		displayName: 'Prompt',
		name: 'prompt',
		type: 'string',
		typeOptions: { rows: 4 },
		default: '',
		required: true,
		placeholder: 'e.g. Write a friendly reply to: {{ $json.message }}',
		description: 'What to ask the model',
		displayOptions: { show: { operation: ['chat'], inputType: ['prompt'] } },
	},
	{
		displayName: 'Messages',
		name: 'messages',
		type: 'json',
		default: '[\n  {"role": "system", "content": "You are a helpful assistant."},\n  {"role": "user", "content": "Hello"}\n]',
		required: true,
		description: 'The conversation, OpenAI style: roles system, user, assistant',
		displayOptions: { show: { operation: ['chat'], inputType: ['messages'] } },
	},
];

const textProperty = (operations: string[], placeholder: string): INodeProperties => ({
	displayName: 'Text',
	name: 'text',
	type: 'string',
	typeOptions: { rows: 4 },
	default: '',
	required: true,
	placeholder,
	description: 'The text to work on, usually mapped from the input item',
	displayOptions: { show: { operation: operations } },
});

const extractProperties: INodeProperties[] = [
	textProperty(['extract'], 'e.g. {{ $json.email_body }}'),
	{
		displayName: 'Fields',
		name: 'fields',
		type: 'fixedCollection',
		typeOptions: { multipleValues: true, sortable: true },
		placeholder: 'Add Field',
		default: {},
		required: true,
		description: 'The fields to extract; they become a JSON schema the model must follow',
		displayOptions: extract,
		options: [
			{
				displayName: 'Field',
				name: 'field',
				values: [
					{
						displayName: 'Name',
						name: 'name',
						type: 'string',
						default: '',
						placeholder: 'e.g. company',
						description: 'Key of the field in the output',
					},
					{
						displayName: 'Type',
						name: 'type',
						type: 'options',
						options: [
							{ name: 'Boolean', value: 'boolean' },
							{ name: 'Date', value: 'date' },
							{ name: 'Integer', value: 'integer' },
							{ name: 'List of Strings', value: 'stringArray' },
							{ name: 'Number', value: 'number' },
							{ name: 'String', value: 'string' },
						],
						default: 'string',
					},
					{
						displayName: 'Description',
						name: 'description',
						type: 'string',
						default: '',
						placeholder: 'e.g. Legal name of the company the sender works for',
						description: 'What the field means; helps the model find it',
					},
					{
						displayName: 'Required',
						name: 'required',
						type: 'boolean',
						default: false,
						description: 'Whether the model must always fill this field (otherwise it may be null)',
					},
				],
			},
		],
	},
	{
		displayName: 'Instructions',
		name: 'instructions',
		type: 'string',
		typeOptions: { rows: 2 },
		default: '',
		description: 'Extra guidance for the model, e.g. how to normalise values',
		displayOptions: extract,
	},
];

const classifyProperties: INodeProperties[] = [
	textProperty(['classify'], 'e.g. {{ $json.message }}'),
	{
		displayName: 'Labels',
		name: 'labels',
		type: 'fixedCollection',
		typeOptions: { multipleValues: true, sortable: true },
		placeholder: 'Add Label',
		default: {},
		required: true,
		description: 'The categories; the model picks exactly one',
		displayOptions: classify,
		options: [
			{
				displayName: 'Label',
				name: 'label',
				values: [
					{
						displayName: 'Name',
						name: 'name',
						type: 'string',
						default: '',
						placeholder: 'e.g. complaint',
					},
					{
						displayName: 'Description',
						name: 'description',
						type: 'string',
						default: '',
						placeholder: 'e.g. The customer is unhappy about an order',
						description: 'When this label applies',
					},
				],
			},
		],
	},
	{
		displayName: 'Instructions',
		name: 'instructions',
		type: 'string',
		typeOptions: { rows: 2 },
		default: '',
		description: 'Extra guidance for the model, e.g. which label wins when several fit',
		displayOptions: classify,
	},
];

const modelProperty: INodeProperties = {
	displayName: 'Model Name or ID',
	name: 'model',
	type: 'options',
	typeOptions: { loadOptionsMethod: 'getModels' },
	default: 'auto',
	description:
		'Auto lets Switchyard choose by cost, speed and quality; or pin a model (provider/model). Choose from the list, or specify an ID using an <a href="https://docs.n8n.io/code/expressions/">expression</a>.',
};

const optionsProperty: INodeProperties = {
	displayName: 'Options',
	name: 'options',
	type: 'collection',
	placeholder: 'Add Option',
	default: {},
	options: [
		{
			displayName: 'Cache',
			name: 'cache',
			type: 'boolean',
			default: false,
			description: 'Whether an identical earlier request may be answered from Switchyard\'s cache (no upstream call, no cost)',
		},
		{
			displayName: 'Fallback Model Names or IDs',
			name: 'fallbackModels',
			type: 'multiOptions',
			typeOptions: { loadOptionsMethod: 'getModels' },
			default: [],
			description:
				'Models to try, in order, when the chosen one fails (rate limit, outage). Choose from the list, or specify IDs using an <a href="https://docs.n8n.io/code/expressions/">expression</a>.',
		},
		{
			displayName: 'Max Cost (USD)',
			name: 'maxCostUsd',
			type: 'number',
			typeOptions: { minValue: 0, numberPrecision: 6 },
			default: 0,
			description: 'Skip models whose expected cost for this call is higher (0 = no cap)',
		},
		{
			displayName: 'Max Tokens',
			name: 'maxTokens',
			type: 'number',
			typeOptions: { minValue: 1 },
			default: 1024,
			description: 'The maximum number of tokens to generate',
		},
		{
			displayName: 'Prefer',
			name: 'prefer',
			type: 'options',
			options: [
				{ name: 'Balanced', value: 'balanced', description: 'Weigh cost, speed and quality' },
				{ name: 'Lowest Cost', value: 'cost' },
				{ name: 'Lowest Latency', value: 'latency' },
				{ name: 'Highest Quality', value: 'quality' },
			],
			default: 'balanced',
			description: 'What Auto optimises for, and how fallbacks are ranked',
		},
		{
			displayName: 'System Message',
			name: 'systemMessage',
			type: 'string',
			typeOptions: { rows: 2 },
			default: '',
			description: 'Instructions sent before the input, e.g. tone or language',
		},
		{
			displayName: 'Temperature',
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
			description: "Give up on an item after this long: retries, fallbacks and Extract/Classify's one repair call included",
		},
	],
};

export const switchyardProperties: INodeProperties[] = [
	operationProperty,
	...chatProperties,
	...extractProperties,
	...classifyProperties,
	modelProperty,
	optionsProperty,
];
