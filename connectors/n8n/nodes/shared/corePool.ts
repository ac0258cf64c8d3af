/**
 * Direct mode's embedded cores, kept across executions. n8n loads a node's module once per process
 * (the main process, or each queue-mode worker) and runs every execution in it, so a core kept here
 * keeps its answer cache, provider health and circuit state from one execution to the next, as the
 * Switchyard server does. A core is shared by every execution with the same Direct settings; one
 * nothing has used for `idleMs` is closed by the next acquire (no timer: nothing to keep the process
 * alive, and n8n's node rules allow none). Pure (no n8n imports) so the repository's tests drive it.
 */
import { createHash } from 'crypto';
import type { DirectSettings, EmbeddedSwitchyard } from '../../vendor/switchyard-core';

/** One user of a pooled core; `release()` once done (a second call does nothing). */
export interface CoreLease {
	readonly core: EmbeddedSwitchyard;
	release(): void;
}

export interface CorePoolOptions {
	create: (settings: DirectSettings) => EmbeddedSwitchyard;
	idleMs?: number;
	/** Distinct Direct settings kept at most; past it the longest-idle unused core is closed. */
	maxCores?: number;
	now?: () => number;
}

interface Entry {
	core: EmbeddedSwitchyard;
	leases: number;
	lastUsed: number;
}

/** Ten minutes: long enough for a workflow that runs every few minutes to keep its cache. */
export const CORE_IDLE_MS = 10 * 60_000;

/**
 * The pool's key for a set of Direct settings: a SHA-256 of them, so that no map key (nor anything
 * that prints the pool) holds a provider key.
 */
export function settingsId(settings: DirectSettings): string {
	const sorted = (record: Record<string, string | undefined>) =>
		Object.keys(record)
			.sort()
			.map((k) => [k, record[k]]);
	const canonical = JSON.stringify([sorted(settings.apiKeys), sorted(settings.baseUrls)]);
	return createHash('sha256').update(canonical).digest('hex');
}

export class CorePool {
	private readonly entries = new Map<string, Entry>();
	private readonly idleMs: number;
	private readonly maxCores: number;
	private readonly now: () => number;

	constructor(private readonly options: CorePoolOptions) {
		this.idleMs = options.idleMs ?? CORE_IDLE_MS;
		this.maxCores = options.maxCores ?? 16;
		this.now = options.now ?? Date.now;
	}

	/** The core for these settings: the pooled one, or a new one. */
	acquire(settings: DirectSettings): CoreLease {
		this.closeIdle();
		const id = settingsId(settings);
		let entry = this.entries.get(id);
		if (!entry) {
			this.makeRoom();
			entry = { core: this.options.create(settings), leases: 0, lastUsed: this.now() };
			this.entries.set(id, entry);
		}
		entry.leases++;
		const held = entry;
		let released = false;
		return {
			core: held.core,
			release: () => {
				if (released) return;
				released = true;
				held.leases--;
				held.lastUsed = this.now();
			},
		};
	}

	/** How many cores are open (for tests and diagnostics). */
	get size(): number {
		return this.entries.size;
	}

	/** Closes every core (tests; n8n itself just exits). */
	async closeAll(): Promise<void> {
		const cores = [...this.entries.values()].map((e) => e.core);
		this.entries.clear();
		await Promise.all(cores.map(async (core) => await closeQuietly(core)));
	}

	/** Closes the cores nobody holds that were last used `idleMs` ago or more. */
	private closeIdle(): void {
		const now = this.now();
		for (const [id, entry] of this.entries) {
			if (entry.leases > 0 || now - entry.lastUsed < this.idleMs) continue;
			this.entries.delete(id);
			void closeQuietly(entry.core);
		}
	}

	private makeRoom(): void {
		if (this.entries.size < this.maxCores) return;
		const unused = [...this.entries.entries()].filter(([, e]) => e.leases === 0).sort(([, a], [, b]) => a.lastUsed - b.lastUsed);
		const oldest = unused[0];
		if (!oldest) return;
		this.entries.delete(oldest[0]);
		void closeQuietly(oldest[1].core);
	}
}

/** A core that fails to close has nothing left to serve; its error must not reach an unrelated execution. */
async function closeQuietly(core: EmbeddedSwitchyard): Promise<void> {
	try {
		await core.close();
	} catch {
		// nothing to do: the core is dropped either way
	}
}
