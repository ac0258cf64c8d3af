import type { ProviderConfig } from './core';

/** A provider the Direct mode can call with a key the user pastes into the connection. */
export interface DirectProvider {
  name: string;
  title: string;
  /** Connection field holding the key. */
  field: string;
  label: string;
  keysUrl: string;
  config: Pick<ProviderConfig, 'type' | 'preset'>;
}

export const DIRECT_PROVIDERS: readonly DirectProvider[] = [
  { name: 'openai', title: 'OpenAI', field: 'openai_api_key', label: 'OpenAI API Key', keysUrl: 'https://platform.openai.com/api-keys', config: { type: 'openai' } },
  { name: 'anthropic', title: 'Anthropic', field: 'anthropic_api_key', label: 'Anthropic API Key', keysUrl: 'https://console.anthropic.com/settings/keys', config: { type: 'anthropic' } },
  { name: 'gemini', title: 'Google Gemini', field: 'gemini_api_key', label: 'Google Gemini API Key', keysUrl: 'https://aistudio.google.com/app/apikey', config: { type: 'gemini' } },
  { name: 'deepseek', title: 'DeepSeek', field: 'deepseek_api_key', label: 'DeepSeek API Key', keysUrl: 'https://platform.deepseek.com/api_keys', config: { type: 'openai-compatible', preset: 'deepseek' } },
  { name: 'mistral', title: 'Mistral', field: 'mistral_api_key', label: 'Mistral API Key', keysUrl: 'https://console.mistral.ai/api-keys', config: { type: 'openai-compatible', preset: 'mistral' } },
  { name: 'groq', title: 'Groq', field: 'groq_api_key', label: 'Groq API Key', keysUrl: 'https://console.groq.com/keys', config: { type: 'openai-compatible', preset: 'groq' } },
];

export function keyFieldOf(provider: string): DirectProvider | undefined {
  return DIRECT_PROVIDERS.find((p) => p.name === provider);
}

export function providerTitle(provider: string): string {
  return keyFieldOf(provider)?.title ?? provider;
}
