/**
 * An async iterator that can also hand over a result it already holds, without a promise.
 *
 * A stream's events often arrive many to one network read (a fast model, a busy connection, the
 * end of an answer). Each layer between the socket and the caller (body reader, adapter, router
 * relay, SSE writer) then takes them synchronously instead of creating and awaiting promises for
 * every event: on the stream bench that was ~9 promises per relayed event across the layers.
 */
export interface ReadyIterator<T> extends AsyncIterableIterator<T> {
  /**
   * The next result when it is at hand now, undefined when it is not (then call next()). Throws
   * what next() would have rejected with. Not for use while a next() is pending: that read is
   * owed the next result.
   */
  ready(): IteratorResult<T> | undefined;
}

/** The iterator's next result if it is at hand now; undefined for iterators that cannot tell. */
export function readyResult<T>(iterator: AsyncIterator<T>): IteratorResult<T> | undefined {
  const ready = (iterator as Partial<ReadyIterator<T>>).ready;
  return ready === undefined ? undefined : ready.call(iterator);
}

/**
 * What next() answers when ready() has the result: a settled promise (rejected when ready()
 * threw), or undefined when the caller has to wait for the result.
 */
export function nextIfReady<T>(iterator: ReadyIterator<T>): Promise<IteratorResult<T>> | undefined {
  try {
    const result = iterator.ready();
    return result && Promise.resolve(result);
  } catch (err) {
    return Promise.reject(err as Error);
  }
}

/** The result of an iterator that has no more values. */
export const FINISHED: IteratorReturnResult<undefined> = Object.freeze({ done: true, value: undefined });
