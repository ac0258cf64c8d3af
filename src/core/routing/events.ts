import type { GatewayError } from '../errors';
import type { CircuitTransition } from './health';
import type { Attempt, RouteStory } from './types';

/** A call nothing answered: every attempt and the error the caller got. */
export interface FailedCall {
  requestedModel: string;
  attempts: Attempt[];
  error: GatewayError;
}

/** Hooks for metrics and usage logs. Listener errors are swallowed: they never affect routing. */
export interface SwitchyardEvents {
  attempt: (attempt: Attempt) => void;
  /** A call was answered (streams: when the stream is over). */
  story: (story: RouteStory) => void;
  failure: (failure: FailedCall) => void;
  circuit: (transition: CircuitTransition) => void;
}

/** Event listeners by event; a listener that throws is ignored, never breaking a call. */
export class Listeners {
  private readonly map = new Map<keyof SwitchyardEvents, Set<(arg: never) => void>>();

  on<E extends keyof SwitchyardEvents>(event: E, listener: SwitchyardEvents[E]): () => void {
    let set = this.map.get(event);
    if (!set) this.map.set(event, (set = new Set()));
    set.add(listener as (arg: never) => void);
    return () => set.delete(listener as (arg: never) => void);
  }

  emit<E extends keyof SwitchyardEvents>(event: E, arg: Parameters<SwitchyardEvents[E]>[0]): void {
    for (const l of this.map.get(event) ?? []) {
      try {
        (l as (a: typeof arg) => void)(arg);
      } catch {
        // a broken metrics hook must not break a call
      }
    }
  }
}
