/**
 * Node parameters as n8n hands them over. A value typed into a field arrives as its type, but one set
 * by an expression arrives as whatever the expression gave, often a string ("0.3", "true"). Pure (no n8n imports).
 */

/** A parameter problem the user fixes in the node: which parameter and what to do. */
export class ParameterError extends Error {
	constructor(
		message: string,
		readonly description: string,
	) {
		super(message);
		this.name = 'ParameterError';
	}
}

/** Unset: left out, or an expression that gave nothing. */
function unset(value: unknown): boolean {
	return value === undefined || value === null || (typeof value === 'string' && value.trim() === '');
}

function shown(value: unknown): string {
	return (typeof value === 'string' ? JSON.stringify(value) : (JSON.stringify(value) ?? String(value))).slice(0, 80);
}

/** A number option: a number or a numeric string ("0.3"); undefined when unset; anything else names the option. */
export function numberOption(value: unknown, label: string): number | undefined {
	if (unset(value)) return undefined;
	const n = typeof value === 'string' ? Number(value.trim()) : value;
	if (typeof n === 'number' && Number.isFinite(n)) return n;
	throw new ParameterError(
		`'${label}' must be a number, got ${shown(value)}`,
		`Enter a number in '${label}', or an expression that gives one, e.g. {{ 0.5 }} or {{ $json.value }}.`,
	);
}

/** A boolean option: true/false or "true"/"false" (any case); undefined when unset; anything else names the option. */
export function booleanOption(value: unknown, label: string): boolean | undefined {
	if (unset(value)) return undefined;
	if (typeof value === 'boolean') return value;
	const text = typeof value === 'string' ? value.trim().toLowerCase() : undefined;
	if (text === 'true' || text === 'false') return text === 'true';
	throw new ParameterError(
		`'${label}' must be true or false, got ${shown(value)}`,
		`Switch '${label}' on or off, or use an expression that gives true or false.`,
	);
}
