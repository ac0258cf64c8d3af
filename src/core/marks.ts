/**
 * A fact remembered on an object for as long as the object lives (the request was validated, its
 * token estimate), kept as a hidden property rather than in a WeakMap or WeakSet. The objects are
 * per request and short-lived: a weak collection keyed by them grows between garbage collections
 * and its entries cost every young-generation GC (measured on the stream bench: twice as much was
 * promoted to old space per scavenge). Non-enumerable, so a copy (`{ ...x }`) never inherits it.
 */
export class ObjectMark<T> {
  private readonly key: symbol;

  constructor(name: string) {
    this.key = Symbol(name);
  }

  set(target: object, value: T): void {
    Object.defineProperty(target, this.key, { value, configurable: true });
  }

  get(target: object): T | undefined {
    return (target as Record<symbol, T | undefined>)[this.key];
  }
}
