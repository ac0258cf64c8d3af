/**
 * Webhook requests waiting for their job's result (TwiML replies, synchronous generic flows).
 * In-process only: the worker that finishes a job checks here, synchronously, whether a request
 * still waits, and if so hands it the result instead of running the action. A request that
 * stopped waiting is removed first, so exactly one of the two answers.
 */
import type { Job } from './queue/queue';
import type { FlowResult } from './types';

export interface Settled {
  job: Job;
  result?: FlowResult;
}

type Resolve = (settled: Settled | undefined) => void;

export class Waiters {
  private readonly waiting = new Map<string, Set<Resolve>>();

  has(jobId: string): boolean {
    return (this.waiting.get(jobId)?.size ?? 0) > 0;
  }

  /** Resolves with the job once it is done or dead, or undefined after `ms` or when `signal` aborts. */
  wait(jobId: string, ms: number, signal?: AbortSignal): Promise<Settled | undefined> {
    return new Promise((resolve) => {
      let set = this.waiting.get(jobId);
      if (!set) this.waiting.set(jobId, (set = new Set()));
      const giveUp = () => {
        this.remove(jobId, entry);
        clearTimeout(timer);
        resolve(undefined);
      };
      const entry: Resolve = (settled) => {
        clearTimeout(timer);
        signal?.removeEventListener('abort', giveUp);
        resolve(settled);
      };
      const timer = setTimeout(giveUp, ms);
      if (signal?.aborted) return giveUp();
      signal?.addEventListener('abort', giveUp, { once: true });
      set.add(entry);
    });
  }

  /** Hands the finished job (and its result, unless it died) to every waiting request. */
  settle(job: Job, result: FlowResult | undefined): void {
    const set = this.waiting.get(job.id);
    if (!set) return;
    this.waiting.delete(job.id);
    for (const resolve of set) resolve({ job, result });
  }

  /** Ends every wait at once (shutdown): the requests answer without the result. */
  releaseAll(): void {
    for (const set of this.waiting.values()) for (const resolve of set) resolve(undefined);
    this.waiting.clear();
  }

  private remove(jobId: string, entry: Resolve): void {
    const set = this.waiting.get(jobId);
    if (!set) return;
    set.delete(entry);
    if (set.size === 0) this.waiting.delete(jobId);
  }
}
