/**
 * Settles like `promise`, or rejects with the signal's reason as soon as the signal aborts, so that
 * nothing awaited by the router (an adapter, a limiter queue) can outlive a deadline or a caller.
 * The abort listener is removed once settled: streams race every chunk against the same signal.
 */
export function raceAbort<T>(promise: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) {
    promise.catch(() => undefined);
    return Promise.reject(signal.reason as Error);
  }
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(signal.reason as Error);
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(
      (value) => {
        signal.removeEventListener('abort', onAbort);
        resolve(value);
      },
      (err: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(err as Error);
      },
    );
  });
}

/**
 * raceAbort for many promises against one signal, as a stream reads every chunk through it: one
 * abort listener for the signal's lifetime instead of adding and removing one per chunk (measured:
 * ~0.5 us instead of ~1.5 us per chunk, most of it EventTarget bookkeeping).
 */
export class AbortRace {
  private readonly pending = new Set<(reason: Error) => void>();

  constructor(private readonly signal: AbortSignal) {
    signal.addEventListener(
      'abort',
      () => {
        for (const reject of this.pending) reject(signal.reason as Error);
        this.pending.clear();
      },
      { once: true },
    );
  }

  race<T>(promise: Promise<T>): Promise<T> {
    if (this.signal.aborted) return raceAbort(promise, this.signal);
    return new Promise<T>((resolve, reject) => {
      this.pending.add(reject);
      promise.then(
        (value) => {
          this.pending.delete(reject);
          resolve(value);
        },
        (err: unknown) => {
          this.pending.delete(reject);
          reject(err as Error);
        },
      );
    });
  }
}
