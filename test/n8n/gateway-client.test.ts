/**
 * The Switchyard node's Gateway-mode client as n8n runs it: n8n's HTTP helper is axios, and n8n wraps
 * whatever axios throws in a NodeApiError. Both are the connector's own copies (n8n-workflow is its peer),
 * driven against servers on 127.0.0.1, so timeouts, cancellations and refused connections arrive exactly
 * as they do inside n8n.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { switchyardClient } from '../../connectors/n8n/nodes/shared/client';
import type { SwitchyardCredentialData } from '../../connectors/n8n/nodes/shared/credentials';
import { BASE_URL_HINT } from '../../connectors/n8n/nodes/shared/failures';
import { fixtureJson } from '../helpers/fixtures';
import { freePort, PACKAGE_DIR } from './harness';

type Ctx = Parameters<typeof switchyardClient>[0];

interface AxiosLike {
  request(config: Record<string, unknown>): Promise<{ data: unknown; headers: Record<string, unknown>; status: number }>;
}
interface N8nWorkflow {
  NodeApiError: new (node: unknown, error: unknown) => Error;
}

let axios: AxiosLike;
let NodeApiError: N8nWorkflow['NodeApiError'];

const NODE = { id: 'node-1', name: 'Switchyard', type: 'n8n-nodes-switchyard.switchyard', typeVersion: 1, position: [0, 0], parameters: {} };
/** A gateway key without the usual sk-sy- prefix: only exact masking can hide it. */
const PLAIN_KEY = 'abcdEFGH1234ijkl';

/** The helper as n8n implements it for a node: axios underneath, every thrown error wrapped in NodeApiError. */
function n8nContext(credential: SwitchyardCredentialData, sent: string[] = []): Ctx {
  const ctx = {
    getNode: () => NODE,
    getCredentials: async () => credential,
    helpers: {
      async httpRequestWithAuthentication(_type: string, options: Record<string, unknown>) {
        sent.push(String(options.url));
        try {
          const key = credential.gatewayApiKey?.trim();
          const res = await axios.request({
            url: options.url,
            method: options.method,
            data: options.body,
            headers: key ? { Authorization: `Bearer ${key}` } : {},
            timeout: options.timeout,
            signal: options.abortSignal,
            validateStatus: () => true,
          });
          return { body: res.data, headers: res.headers, statusCode: res.status };
        } catch (error) {
          throw new NodeApiError(NODE, error);
        }
      },
    },
  };
  return ctx as unknown as Ctx;
}

type Handler = (req: IncomingMessage, res: ServerResponse) => void;
let server: Server;
let url: string;
let handler: Handler;

beforeAll(async () => {
  // n8n-workflow is the package's peer and axios n8n's HTTP client: both from the package's own install.
  const fromPackage = async (name: string): Promise<unknown> => (await import(require.resolve(name, { paths: [PACKAGE_DIR] }))) as unknown;
  axios = ((await fromPackage('axios')) as { default: AxiosLike }).default;
  ({ NodeApiError } = (await fromPackage('n8n-workflow')) as N8nWorkflow);
  server = createServer((req, res) => handler(req, res));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  server.closeAllConnections();
  await new Promise((r) => server.close(r));
});

const CHAT = { model: 'auto', messages: [{ role: 'user' as const, content: 'Hi' }] };

/** Answers after `ms` (or never, once the client went away): a server slower than the node's Timeout. */
function slowAnswer(ms: number): Handler {
  return (_req, res) => {
    const timer = setTimeout(() => res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(fixtureJson('openai/chat-basic.json'))), ms);
    res.on('close', () => clearTimeout(timer));
  };
}

async function failure(promise: Promise<unknown>): Promise<Error & { description?: string; httpCode?: string | null }> {
  try {
    await promise;
  } catch (err) {
    return err as Error & { description?: string; httpCode?: string | null };
  }
  throw new Error('expected the call to fail');
}

describe('Gateway mode: a request that gets no HTTP answer', () => {
  it('a timeout says the server did not answer in time and to raise the Timeout option, not that it is unreachable', async () => {
    handler = slowAnswer(5_000);
    const client = await switchyardClient(n8nContext({ mode: 'gateway', baseUrl: url }));
    const err = await failure(client.chat(CHAT, { timeoutMs: 200 }));
    expect(err).toBeInstanceOf(NodeApiError);
    expect(err.message).toBe(`The Switchyard server at ${url} did not answer within 0.2 s`);
    expect(err.description).toBe('The providers did not answer in time: raise the Timeout option, or prefer latency.');
    expect(err.httpCode).toBe('504');
    expect(`${err.message} ${err.description}`).not.toMatch(/Cannot reach|Start the server|Docker|aborted/i);
  });

  it('a cancelled execution is reported as cancelled', async () => {
    handler = slowAnswer(5_000);
    const client = await switchyardClient(n8nContext({ mode: 'gateway', baseUrl: url }));
    const controller = new AbortController();
    const pending = client.chat(CHAT, { signal: controller.signal });
    controller.abort();
    const err = await failure(pending);
    expect(err.message).toBe('Switchyard server: the request was cancelled before the server answered');
    expect(err.description).not.toMatch(/Start the server|Docker|Timeout/);
  });

  it('only a connection that cannot be made gets the unreachable hint, with its code kept in the message', async () => {
    const closed = `http://127.0.0.1:${await freePort()}`;
    const client = await switchyardClient(n8nContext({ mode: 'gateway', baseUrl: closed }));
    const err = await failure(client.models());
    // NodeApiError alone would say "The service refused the connection - perhaps it is offline".
    expect(err.message).toBe(`Cannot reach the Switchyard server at ${closed} (ECONNREFUSED)`);
    expect(err.description).toMatch(/^Start the server .*'Base URL'.*Docker/);
  });
});

describe('Gateway mode: the credential as entered', () => {
  it('a Base URL pasted with its endpoint path calls the server at its address, not at a doubled path', async () => {
    const seen: string[] = [];
    handler = (req, res) => {
      seen.push(String(req.url));
      const body = req.url === '/v1/models' ? { object: 'list', data: [{ id: 'openai/gpt-4.1-mini', object: 'model', created: 1, owned_by: 'openai' }] } : fixtureJson('openai/chat-basic.json');
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(body));
    };
    for (const pasted of [`${url}/v1/chat/completions`, `${url}/v1/models/`, `${url}/chat/completions`]) {
      const client = await switchyardClient(n8nContext({ mode: 'gateway', baseUrl: pasted }));
      expect((await client.models()).map((m) => m.value)).toContain('openai/gpt-4.1-mini');
      expect((await client.chat(CHAT)).text).toBe('Hello! ¿Cómo estás? 👋');
    }
    expect(new Set(seen)).toEqual(new Set(['/v1/models', '/v1/chat/completions']));
  });

  it('a 2xx that is not JSON (an HTML catch-all page) points at the Base URL', async () => {
    handler = (_req, res) => res.writeHead(200, { 'content-type': 'text/html' }).end('<!doctype html><html><body>Dashboard</body></html>');
    const client = await switchyardClient(n8nContext({ mode: 'gateway', baseUrl: url }));
    for (const call of [() => client.chat(CHAT), () => client.models()]) {
      const err = await failure(call());
      expect(err).toBeInstanceOf(NodeApiError);
      expect(err.message).toBe(`The server at ${url} answered HTTP 200 with something other than a Switchyard JSON response ("<!doctype html><html><body>Dashboard</body></html>")`);
      expect(err.description).toBe(BASE_URL_HINT);
    }
  });

  it('a proxy\'s HTML 502 in front of the server: the server or the proxy answered without a Switchyard error', async () => {
    handler = (_req, res) => res.writeHead(502, { 'content-type': 'text/html' }).end('<html><body><h1>502 Bad Gateway</h1></body></html>');
    const client = await switchyardClient(n8nContext({ mode: 'gateway', baseUrl: url }));
    const err = await failure(client.chat(CHAT));
    expect(err.description).toBe(
      "The Switchyard server (or a proxy in front of it) answered HTTP 502 without a Switchyard error: check that the server is running and that 'Base URL' points at it.",
    );
  });

  it('a gateway key the server echoes back is masked even without a key-like prefix', async () => {
    handler = (_req, res) => {
      const error = { message: `key ${PLAIN_KEY} is not allowed to use model auto`, type: 'permission_error', param: null, code: 'model_not_allowed' };
      res.writeHead(403, { 'content-type': 'application/json' }).end(JSON.stringify({ error }));
    };
    const sent: string[] = [];
    const client = await switchyardClient(n8nContext({ mode: 'gateway', baseUrl: url, gatewayApiKey: ` ${PLAIN_KEY} ` }, sent));
    const err = await failure(client.chat(CHAT));
    expect(err.message).toBe('Switchyard server: key [redacted] is not allowed to use model auto');
    expect(JSON.stringify({ ...err, message: err.message, description: err.description })).not.toContain(PLAIN_KEY);
    expect(sent).toEqual([`${url}/v1/chat/completions`]);
  });
});
