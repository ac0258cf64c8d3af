/**
 * The Model dropdown (`getModels`): the Auto variants first, then the models Switchyard can route to,
 * from the embedded catalog (Direct) or the server's GET /v1/models (Gateway). Pure (no n8n imports).
 */
import type { CatalogEntry } from '../../vendor/switchyard-core';

export interface ModelOption {
	name: string;
	value: string;
	description?: string;
}

export const AUTO_MODELS: ReadonlyArray<Required<ModelOption>> = [
	{ name: 'Auto (Balanced)', value: 'auto', description: 'Let Switchyard pick: balance of cost, speed and quality (or the Prefer option)' },
	{ name: 'Auto: Cheapest', value: 'auto:cost', description: 'The cheapest capable model' },
	{ name: 'Auto: Fastest', value: 'auto:latency', description: 'The model expected to answer first' },
	{ name: 'Auto: Best Quality', value: 'auto:quality', description: 'The highest-quality capable model' },
	{ name: 'Auto: Balanced', value: 'auto:balanced', description: 'Balance of cost, speed and quality, whatever the default preference' },
];

/** USD per 1M tokens as the dropdown shows it: "$0.4 in / $1.6 out per 1M tokens", or "free". */
export function priceText(input: number, output: number): string {
	const fmt = (n: number) => (n === 0 ? 'free' : `$${Number(n.toPrecision(3))}`);
	return input === 0 && output === 0 ? 'free' : `${fmt(input)} in / ${fmt(output)} out per 1M tokens`;
}

function withAuto(listed: ModelOption[]): ModelOption[] {
	return [...AUTO_MODELS, ...listed.sort((a, b) => a.name.localeCompare(b.name))];
}

/** Direct mode: the embedded core's catalog, each entry with its price, context size and quality. */
export function directModelOptions(catalog: ReadonlyArray<CatalogEntry>): ModelOption[] {
	return withAuto(
		catalog.map((m) => ({
			name: m.id,
			value: m.id,
			description: `${priceText(m.input_price, m.output_price)}, ${Math.round(m.context_window / 1000)}k context, quality ${m.quality}`,
		})),
	);
}

/**
 * Gateway mode: the body of the server's GET /v1/models (OpenAI's list shape). Entries without a
 * string id are dropped, and the server's own `auto*` ids are not listed twice.
 */
export function gatewayModelOptions(body: unknown): ModelOption[] {
	const data = (body as { data?: unknown } | null)?.data;
	const entries = Array.isArray(data) ? (data as Array<{ id?: unknown; owned_by?: unknown } | null>) : [];
	const autoIds = new Set(AUTO_MODELS.map((m) => m.value));
	const listed = entries
		.filter((m): m is { id: string; owned_by?: unknown } => typeof m?.id === 'string' && m.id.trim() !== '' && !autoIds.has(m.id))
		.map((m) => ({
			name: m.id,
			value: m.id,
			...(typeof m.owned_by === 'string' && m.owned_by ? { description: `by ${m.owned_by}` } : {}),
		}));
	return withAuto(listed);
}
