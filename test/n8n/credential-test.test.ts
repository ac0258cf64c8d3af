import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import nock from 'nock';
import { checkDirectProviders } from '../../connectors/n8n/core/switchyard-core';
import { checkCredential, checkDirect, checkGateway } from '../../connectors/n8n/nodes/shared/credentialChecks';
import { closeUpstreamPools } from '../../src/core/http';
import { freePort } from './harness';

/** A gateway stand-in on 127.0.0.1: /v1/models needs `Bearer sk-sy-good`. */
let server: Server;
let url: string;
const seen: Array<string | undefined> = [];

beforeAll(async () => {
  server = createServer((req, res) => {
    seen.push(req.headers.authorization);
    const ok = req.url === '/v1/models' && req.headers.authorization === 'Bearer sk-sy-good';
    res.writeHead(ok ? 200 : 401, { 'content-type': 'application/json' });
    res.end(JSON.stringify(ok ? { object: 'list', data: [] } : { error: { message: 'invalid API key sk-sy-wrong', type: 'authentication_error', param: null, code: 'invalid_api_key' } }));
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
});
