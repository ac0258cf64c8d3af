import { mistralToolCallId, OPENAI_DIALECT, OpenAIAdapter, type OpenAIDialect } from './openai';
import { portableToolCallId } from './wire';

/** An OpenAI-compatible API: where it lives, which env vars configure it, how it deviates. */
export interface CompatiblePreset {
  name: string;
  defaultBaseUrl: string;
  /** Env vars holding the key, first one set wins. */
  apiKeyEnv: string[];
  /** Keyless local servers (Ollama, vLLM, LM Studio). */
  keyless?: boolean;
  dialect: OpenAIDialect;
  headers?: Record<string, string>;
}

/**
 * Only OpenAI itself takes the `developer` role: the others get it as `system` (developerRole unset).
 * Tool-call ids minted by other providers (Gemini's are long, with + / =) are sent in a form every API accepts.
 */
const COMMON_DIALECT: OpenAIDialect = { maxTokensField: 'max_tokens', streamUsage: true, toolCallId: portableToolCallId };

export const COMPATIBLE_PRESETS: Record<string, CompatiblePreset> = {
  openai: {
    name: 'openai',
    defaultBaseUrl: 'https://api.openai.com/v1',
    apiKeyEnv: ['OPENAI_API_KEY'],
    dialect: OPENAI_DIALECT,
  },
  deepseek: {
    name: 'deepseek',
    defaultBaseUrl: 'https://api.deepseek.com/v1',
    apiKeyEnv: ['DEEPSEEK_API_KEY'],
    // DeepSeek rejects OpenAI's newer fields it does not implement. In thinking mode it answers with
    // message.reasoning_content and wants it back in history after tool calls (400 otherwise). Its
    // response_format is text or json_object only ("This response_format type is unavailable now").
    dialect: { ...COMMON_DIALECT, dropFields: ['metadata', 'parallel_tool_calls', 'seed', 'store'], reasoningContent: 'relay', jsonSchema: 'as_json_object' },
  },
  mistral: {
    name: 'mistral',
    defaultBaseUrl: 'https://api.mistral.ai/v1',
    apiKeyEnv: ['MISTRAL_API_KEY'],
    // Mistral validates strictly (422 extra_forbidden on unknown request and message fields: refusal,
    // annotations, reasoning_content, name...), names the seed random_seed, says "any" for required, takes
    // only 9-character tool-call ids, and always reports usage on the last chunk.
    dialect: {
      maxTokensField: 'max_tokens',
      streamUsage: false,
      renameFields: { seed: 'random_seed' },
      dropFields: ['user', 'metadata', 'store', 'stream_options', 'logit_bias', 'logprobs', 'top_logprobs'],
      toolChoiceRequired: 'any',
      toolCallId: mistralToolCallId,
      reasoningContent: 'drop',
      messageFields: {
        system: ['role', 'content'],
        user: ['role', 'content'],
        assistant: ['role', 'content', 'tool_calls', 'prefix'],
        tool: ['role', 'content', 'tool_call_id', 'name'],
      },
    },
  },
  groq: {
    name: 'groq',
    defaultBaseUrl: 'https://api.groq.com/openai/v1',
    apiKeyEnv: ['GROQ_API_KEY'],
    // Groq answers 400 to messages[].name and to reasoning_content in assistant history.
    dialect: { ...COMMON_DIALECT, dropFields: ['logit_bias', 'logprobs', 'top_logprobs', 'metadata', 'store'], reasoningContent: 'drop', dropMessageName: true },
  },
  together: {
    name: 'together',
    defaultBaseUrl: 'https://api.together.xyz/v1',
    apiKeyEnv: ['TOGETHER_API_KEY'],
    dialect: { ...COMMON_DIALECT, dropFields: ['metadata', 'store'] },
  },
  openrouter: {
    name: 'openrouter',
    defaultBaseUrl: 'https://openrouter.ai/api/v1',
    apiKeyEnv: ['OPENROUTER_API_KEY'],
    dialect: COMMON_DIALECT,
    headers: { 'x-title': 'Switchyard' },
  },
  ollama: {
    name: 'ollama',
    defaultBaseUrl: 'http://localhost:11434/v1',
    apiKeyEnv: [],
    keyless: true,
    dialect: { ...COMMON_DIALECT, dropFields: ['metadata', 'store', 'parallel_tool_calls'] },
  },
  vllm: {
    name: 'vllm',
    defaultBaseUrl: 'http://localhost:8000/v1',
    apiKeyEnv: ['VLLM_API_KEY'],
    keyless: true,
    dialect: COMMON_DIALECT,
  },
  lmstudio: {
    name: 'lmstudio',
    defaultBaseUrl: 'http://localhost:1234/v1',
    apiKeyEnv: [],
    keyless: true,
    dialect: { ...COMMON_DIALECT, dropFields: ['metadata', 'store'] },
  },
};

/** The adapter for a preset, or for any OpenAI-compatible base URL (`custom`). */
export function createCompatibleAdapter(presetName: string, instanceName = presetName): OpenAIAdapter {
  const preset = COMPATIBLE_PRESETS[presetName];
  return new OpenAIAdapter(instanceName, preset?.dialect ?? COMMON_DIALECT);
}
