import type { ServerResponse } from 'node:http';
import type { Socket } from 'node:net';

/** Response headers of an event stream; extra headers (x-switchyard-*) are merged in. */
export function startEventStream(res: ServerResponse, headers: Record<string, string>): void {
  res.writeHead(200, {
    'content-type': 'text/event-stream; charset=utf-8',
    'cache-control': 'no-cache, no-transform',
    connection: 'keep-alive',
    // Tells nginx-style proxies not to buffer the stream.
    'x-accel-buffering': 'no',
    ...headers,
  });
  // Headers go out now, before the first chunk, so clients see the stream open at once.
  res.flushHeaders();
}

const corked = new WeakSet<Socket>();

function uncork(socket: Socket): void {
  corked.delete(socket);
  socket.uncork();
}

/**
 * Writes one `data:` event. Events written in the same turn of the event loop (several upstream
 * events often arrive in one network read) leave in one socket write at the end of that turn:
 * each event is still sent as soon as it arrived, with fewer syscalls. Returns false when the
 * socket is congested: the caller then awaits `drained`.
 */
export function writeEvent(res: ServerResponse, json: string): boolean {
  if (res.destroyed || res.writableEnded) return true;
  const socket = res.socket;
  if (socket && !corked.has(socket)) {
    corked.add(socket);
    socket.cork();
    process.nextTick(uncork, socket);
  }
  return res.write(`data: ${json}\n\n`);
}

/** A comment line: ignored by SSE clients, readable by humans with curl. */
export function writeComment(res: ServerResponse, text: string): void {
  if (!res.destroyed && !res.writableEnded) res.write(`: ${text.replace(/[\r\n]+/g, ' ')}\n\n`);
}

export function endWithDone(res: ServerResponse): void {
  if (!res.destroyed && !res.writableEnded) res.end('data: [DONE]\n\n');
}

/** The stream failed after it started: an error event, then close, never a clean [DONE]. */
export function endWithError(res: ServerResponse, body: unknown): void {
  if (!res.destroyed && !res.writableEnded) res.end(`data: ${JSON.stringify(body)}\n\n`);
}

/** Resolves when a congested response can take more, or is closed. */
export function drained(res: ServerResponse): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      res.off('drain', done);
      res.off('close', done);
      resolve();
    };
    res.on('drain', done);
    res.on('close', done);
  });
}
