import { createServer, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import nock from 'nock';
import { checkDirectProviders } from '../../connectors/n8n/core/switchyard-core';
import { checkCredential, checkDirect, checkGateway } from '../../connectors/n8n/nodes/shared/credentialChecks';
import { BASE_URL_HINT } from '../../connectors/n8n/nodes/shared/failures';
import { closeUpstreamPools } from '../../src/core/http';
import { freePort } from './harness';

/** A key without a well-known prefix: only exact masking hides it. */
const PLAIN_KEY = 'abcdEFGH1234';

/**
 * A gateway stand-in on 127.0.0.1: /v1/models needs `Bearer sk-sy-good`; other paths are unknown routes
 * (as the server answers them); with PLAIN_KEY it fails echoing the key.
 */
let server: Server;
let url: string;
const seen: Array<string | undefined> = [];

function reply(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(JSON.stringify(body));
}

beforeAll(async () => {
  server = createServer((req, res) => {
    seen.push(req.headers.authorization);
    if (req.url === '/catch-all/v1/models') {
      // A web app's catch-all route (n8n's editor, a dashboard): 200 to everything, with an HTML page.
      res.writeHead(200, { 'content-type': 'text/html' });
      return res.end('<!doctype html><html><body>n8n editor</body></html>');
    }
    if (req.url === '/other-api/v1/models') return reply(res, 200, { status: 'ok' });
    if (req.url !== '/v1/models') {
      const message = `Unknown route: GET ${req.url}. This gateway serves POST /v1/chat/completions and GET /v1/models.`;
      return reply(res, 404, { error: { message, type: 'not_found_error', param: null, code: 'unknown_route' } });
    }
    if (req.headers.authorization === `Bearer ${PLAIN_KEY}`) {
      return reply(res, 500, { error: { message: `key store failed while reading ${PLAIN_KEY}`, type: 'server_error', param: null, code: null } });
    }
    const ok = req.headers.authorization === 'Bearer sk-sy-good';
    reply(res, ok ? 200 : 401, ok ? { object: 'list', data: [] } : { error: { message: 'invalid API key sk-sy-wrong', type: 'authentication_error', param: null, code: 'invalid_api_key' } });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  await new Promise((r) => server.close(r));
  await closeUpstreamPools();
});
afterEach(() => nock.cleanAll());

describe('credential test, Gateway server mode', () => {
  it('passes with the right key (sent as a bearer token) and a /v1 suffix in the base URL', async () => {
    await expect(checkGateway({ mode: 'gateway', baseUrl: `${url}/v1/`, gatewayApiKey: ' sk-sy-good ' })).resolves.toEqual({
      status: 'OK',
      message: `Connected to the Switchyard server at ${url}`,
    });
    expect(seen.at(-1)).toBe('Bearer sk-sy-good');
  });

  it('names the gateway key on a 401, without echoing it', async () => {
    const res = await checkGateway({ mode: 'gateway', baseUrl: url, gatewayApiKey: 'sk-sy-wrong' });
    expect(res).toEqual({ status: 'Error', message: `Switchyard server at ${url}: the server rejected 'Gateway Key' (HTTP 401)` });
    await checkGateway({ mode: 'gateway', baseUrl: url });
    expect(seen.at(-1)).toBeUndefined(); // no key, no header
  });

  it('passes with the endpoint path pasted after the address', async () => {
    for (const pasted of [`${url}/v1/chat/completions`, `${url}/v1/models`]) {
      await expect(checkGateway({ mode: 'gateway', baseUrl: pasted, gatewayApiKey: 'sk-sy-good' })).resolves.toEqual({
        status: 'OK',
        message: `Connected to the Switchyard server at ${url}`,
      });
    }
  });

  it('says what to put in Base URL when the server does not know the path', async () => {
    const res = await checkGateway({ mode: 'gateway', baseUrl: `${url}/api`, gatewayApiKey: 'sk-sy-good' });
    expect(res.status).toBe('Error');
    expect(res.message).toBe(
      `Switchyard server at ${url}/api: Unknown route: GET /api/v1/models. This gateway serves POST /v1/chat/completions and GET /v1/models. (HTTP 404). ${BASE_URL_HINT}`,
    );
  });

  it('fails a 200 that is not a model list (an HTML catch-all page, another JSON API) with the Base URL hint', async () => {
    const html = await checkGateway({ mode: 'gateway', baseUrl: `${url}/catch-all`, gatewayApiKey: 'sk-sy-good' });
    expect(html).toEqual({
      status: 'Error',
      message: `The server at ${url}/catch-all answered GET /v1/models with HTTP 200 but not with a model list ({"data":[{"id":...}]}; got "<!doctype html><html><body>n8n editor</body></html>"), so it is not a Switchyard server. ${BASE_URL_HINT}`,
    });
    const other = await checkGateway({ mode: 'gateway', baseUrl: `${url}/other-api`, gatewayApiKey: 'sk-sy-good' });
    expect(other.status).toBe('Error');
    expect(other.message).toMatch(/but not with a model list .*got "\{"status":"ok"\}"/);
  });

  it('masks a gateway key the server echoes, whatever its shape', async () => {
    const res = await checkGateway({ mode: 'gateway', baseUrl: url, gatewayApiKey: PLAIN_KEY });
    expect(res).toEqual({ status: 'Error', message: `Switchyard server at ${url}: key store failed while reading [redacted] (HTTP 500)` });
  });

  it('names the base URL when nothing listens there', async () => {
    const port = await freePort();
    const res = await checkCredential({ mode: 'gateway', baseUrl: `http://127.0.0.1:${port}` }, async () => []);
    expect(res.status).toBe('Error');
    expect(res.message).toMatch(new RegExp(`^Cannot reach the Switchyard server at http://127.0.0.1:${port} \\(ECONNREFUSED\\): check 'Base URL'$`));
  });
});

describe('credential test, Direct mode', () => {
  beforeAll(() => nock.disableNetConnect());
  afterAll(() => nock.enableNetConnect());

  it('asks for a key when none is filled in', async () => {
    await expect(checkDirect({ mode: 'direct', openaiApiKey: ' ' }, checkDirectProviders)).resolves.toEqual({
      status: 'Error',
      message: 'Add at least one provider API key (or an Ollama base URL)',
    });
  });

  it('lists every provider that answered, and names the ones whose key failed', async () => {
    nock('https://api.mistral.ai/v1').get('/models').reply(200, { object: 'list', data: [{ id: 'mistral-small-latest', object: 'model' }] });
    nock('https://api.deepseek.com/v1').get('/models').reply(200, { object: 'list', data: [] });
    await expect(checkDirect({ mistralApiKey: 'm-key-1234567', deepseekApiKey: 'sk-ds-1234567' }, checkDirectProviders)).resolves.toEqual({
      status: 'OK',
      message: 'Providers answered: deepseek, mistral',
    });
    nock('https://api.mistral.ai/v1').get('/models').reply(401, { message: 'Unauthorized' });
    const res = await checkDirect({ mistralApiKey: 'm-key-1234567' }, checkDirectProviders);
    expect(res.status).toBe('Error');
    expect(res.message).toMatch(/^Provider check failed\. mistral: auth: /);
    expect(res.message).not.toContain('m-key-1234567');
  });

  it('passes a key the provider rate limits (it was accepted), with a note', async () => {
    const limited = { error: { message: 'Rate limit reached for requests', type: 'requests', param: null, code: 'rate_limit_exceeded' } };
    nock('https://api.groq.com/openai/v1').get('/models').reply(429, limited, { 'retry-after': '7' });
    nock('https://api.mistral.ai/v1').get('/models').reply(200, { object: 'list', data: [] });
    await expect(checkDirect({ groqApiKey: 'gsk_limited_123456', mistralApiKey: 'm-key-1234567' }, checkDirectProviders)).resolves.toEqual({
      status: 'OK',
      message: 'Providers answered: mistral, groq. groq rate limited the check (HTTP 429), so the key was accepted',
    });
  });

  it('masks a key without a known prefix that a provider echoes', async () => {
    nock('https://api.mistral.ai/v1').get('/models').reply(401, { message: `Unauthorized: no such key ${PLAIN_KEY}` });
    const res = await checkDirect({ mistralApiKey: PLAIN_KEY }, checkDirectProviders);
    expect(res.status).toBe('Error');
    expect(res.message).toMatch(/^Provider check failed\. mistral: auth: .*\[redacted\]/);
    expect(res.message).not.toContain(PLAIN_KEY);
  });
});
