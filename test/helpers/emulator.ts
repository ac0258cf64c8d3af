import { createServer, type RequestListener, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { closeUpstreamPools } from '../../src/core/http';

/** A provider emulator on 127.0.0.1 (no nock here: some tests need real sockets end to end). */
export interface Emulator {
  server: Server;
  /** `http://127.0.0.1:<port>/v1`, an OpenAI-style base URL. */
  baseUrl: string;
}

export async function startEmulator(handler: RequestListener): Promise<Emulator> {
  const server = createServer(handler);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { server, baseUrl: `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1` };
}

/** Closes the emulator and the transport's pooled connections to it. */
export async function stopEmulator({ server }: Emulator): Promise<void> {
  await closeUpstreamPools();
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
}
