import type {
	ICredentialDataDecryptedObject,
	ICredentialType,
	IHttpRequestOptions,
	INodeProperties,
	Icon,
} from 'n8n-workflow';

const direct = { show: { mode: ['direct'] } };

function providerKey(displayName: string, name: string, description: string): INodeProperties {
	return {
		displayName,
		name,
		type: 'string',
		typeOptions: { password: true },
		default: '',
		description,
		displayOptions: direct,
	};
}

/**
 * Tested by the nodes (`testedBy: 'switchyardApiTest'`): Gateway mode calls GET /v1/models,
 * Direct mode asks every configured provider to list its models.
 */
export class SwitchyardApi implements ICredentialType {
	name = 'switchyardApi';

	displayName = 'Switchyard API';

	icon: Icon = { light: 'file:../icons/switchyard.svg', dark: 'file:../icons/switchyard.dark.svg' };

	documentationUrl = 'https://github.com/switchyard-ai/switchyard/tree/main/connectors/n8n#credentials';

	properties: INodeProperties[] = [
		{
			displayName: 'Mode',
			name: 'mode',
			type: 'options',
			options: [
				{
					name: 'Direct (Provider Keys, Routing Inside N8n)',
					value: 'direct',
					description: 'Switchyard routes inside n8n with your provider API keys; nothing else to run',
				},
				{
					name: 'Gateway Server',
					value: 'gateway',
					description: 'Use a running Switchyard server: shared keys, budgets and usage',
				},
			],
			default: 'direct',
		},
		{
			displayName: 'Base URL',
			name: 'baseUrl',
			type: 'string',
			default: 'http://127.0.0.1:8787',
			placeholder: 'https://switchyard.example.com',
			description: "The Switchyard server's address, e.g. http://192.168.1.20:8787 (a pasted /v1 or /v1/chat/completions is ignored)",
			displayOptions: { show: { mode: ['gateway'] } },
		},
		{
			displayName: 'Gateway Key',
			name: 'gatewayApiKey',
			type: 'string',
			typeOptions: { password: true },
			default: '',
			placeholder: 'sk-sy-...',
			description: 'A key created with `switchyard keys create`; leave empty for a local server without keys',
			displayOptions: { show: { mode: ['gateway'] } },
		},
		providerKey('OpenAI API Key', 'openaiApiKey', 'Key from platform.openai.com'),
		{
			displayName: 'OpenAI Base URL',
			name: 'openaiBaseUrl',
			type: 'string',
			default: '',
			placeholder: 'https://api.openai.com/v1',
			description: 'Only for a proxy or another OpenAI-compatible server; leave empty for OpenAI',
			displayOptions: direct,
		},
		providerKey('Anthropic API Key', 'anthropicApiKey', 'Key from console.anthropic.com'),
		providerKey('Gemini API Key', 'geminiApiKey', 'Key from aistudio.google.com'),
		providerKey('DeepSeek API Key', 'deepseekApiKey', 'Key from platform.deepseek.com'),
		providerKey('Mistral API Key', 'mistralApiKey', 'Key from console.mistral.ai'),
		providerKey('Groq API Key', 'groqApiKey', 'Key from console.groq.com'),
		{
			displayName: 'Ollama Base URL',
			name: 'ollamaBaseUrl',
			type: 'string',
			default: '',
			placeholder: 'http://localhost:11434/v1',
			description: 'A local Ollama server (no key needed); leave empty to not use Ollama',
			displayOptions: direct,
		},
	];

	/** Gateway mode: the gateway key as a bearer token (nothing is sent when it is empty). */
	async authenticate(credentials: ICredentialDataDecryptedObject, requestOptions: IHttpRequestOptions): Promise<IHttpRequestOptions> {
		const key = typeof credentials.gatewayApiKey === 'string' ? credentials.gatewayApiKey.trim() : '';
		if (credentials.mode === 'gateway' && key) {
			requestOptions.headers = { ...requestOptions.headers, Authorization: `Bearer ${key}` };
		}
		return requestOptions;
	}
}
