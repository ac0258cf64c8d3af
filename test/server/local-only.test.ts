import { request as httpRequest } from 'node:http';
import { isLoopbackHostHeader, isLoopbackOrigin } from '../../src/server/local-only';
import { FakeSwitchyard } from './helpers/fake-switchyard';
import { serveApp, type Served } from './helpers/serve';

/** A request with the Host and Origin headers a browser would send (fetch may not set Host). */
function send(url: string, path: string, headers: Record<string, string>, body?: string): Promise<{ status: number; json: { error?: { code: string } } }> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(`${url}${path}`, { method: body === undefined ? 'GET' : 'POST', headers }, (res) => {
      let text = '';
      res.on('data', (c: Buffer) => (text += c.toString('utf8')));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, json: text ? (JSON.parse(text) as { error?: { code: string } }) : {} }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

const chat = JSON.stringify({ model: 'auto', messages: [{ role: 'user', content: 'Hi' }] });

describe('a gateway on the loopback interface answers local clients only', () => {
  let served: Served;
  beforeEach(async () => {
    served = await serveApp(new FakeSwitchyard(), { localClientsOnly: true });
  });
  afterEach(() => served.close());

  it('refuses a page on another origin posting text/plain (no preflight), and a rebound host name', async () => {
    const port = new URL(served.url).port;
    const csrf = await send(served.url, '/v1/chat/completions', { host: `127.0.0.1:${port}`, origin: 'https://attacker.example', 'content-type': 'text/plain' }, chat);
    expect(csrf).toMatchObject({ status: 403, json: { error: { code: 'cross_origin_request' } } });
    const rebound = await send(served.url, '/v1/usage', { host: `attacker.example:${port}` });
    expect(rebound).toMatchObject({ status: 403, json: { error: { code: 'non_local_host' } } });
    expect((await send(served.url, '/v1/models', { host: 'attacker.example', origin: 'null' })).status).toBe(403);
  });

  it('answers local programs and local web pages', async () => {
    const port = new URL(served.url).port;
    expect((await send(served.url, '/v1/chat/completions', { host: `127.0.0.1:${port}`, 'content-type': 'application/json' }, chat)).status).toBe(200);
    expect((await send(served.url, '/v1/chat/completions', { host: `localhost:${port}`, origin: 'http://localhost:3000', 'content-type': 'text/plain' }, chat)).status).toBe(200);
    expect((await served.client.models.list()).data.length).toBeGreaterThan(0);
  });

  it('leaves webhook routes to their own signatures (tunnels bring other host names)', async () => {
    const hook = await send(served.url, '/webhooks/unknown-flow', { host: 'abc.tunnel.example', 'content-type': 'application/json' }, '{}');
    expect(hook.status).toBe(404);
  });

  it('reads loopback names with ports, IPv6 brackets and any case', () => {
    expect(['localhost', 'LOCALHOST:8787', '127.0.0.1:1', '[::1]:8787', '[::1]'].every(isLoopbackHostHeader)).toBe(true);
    expect(['127.0.0.1.attacker.example', 'localhost.attacker.example:80', '10.0.0.1', '', '[::2]'].some(isLoopbackHostHeader)).toBe(false);
    expect(isLoopbackHostHeader(undefined)).toBe(false);
    expect(['http://localhost:3000', 'https://127.0.0.1', 'http://[::1]:5173'].every(isLoopbackOrigin)).toBe(true);
    expect(['null', 'http://localhost.evil.example', 'file://', 'http://127.0.0.1/path'].some(isLoopbackOrigin)).toBe(false);
  });
});
