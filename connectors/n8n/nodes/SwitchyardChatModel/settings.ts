/** The Chat Model node's options as the model takes them. Pure (no n8n imports) so the repository's tests run it. */
import type { Prefer } from '../shared/mapping';
import { numberOption } from '../shared/parameters';

/** The Options collection; numbers set by an expression arrive as strings ("0.3"). */
export interface ModelOptions {
	prefer?: Prefer;
	fallbackModels?: string[] | string;
	temperature?: number | string;
	maxTokens?: number | string;
	timeoutSeconds?: number | string;
}

export interface ModelSettings {
	temperature?: number;
	maxTokens?: number;
	timeout?: number;
}

/** Each number option checked and typed; a wrong one names its field. */
export function modelSettings(options: ModelOptions): ModelSettings {
	const temperature = numberOption(options.temperature, 'Sampling Temperature');
	const maxTokens = numberOption(options.maxTokens, 'Max Tokens');
	const timeoutSeconds = numberOption(options.timeoutSeconds, 'Timeout (Seconds)');
	return {
		temperature,
		maxTokens: maxTokens !== undefined && maxTokens > 0 ? Math.floor(maxTokens) : undefined,
		timeout: timeoutSeconds !== undefined && timeoutSeconds > 0 ? timeoutSeconds * 1000 : undefined,
	};
}
