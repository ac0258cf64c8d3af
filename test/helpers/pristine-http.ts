/**
 * Runs before every test file (jest `setupFiles`). nock (through @mswjs/interceptors) and Zapier's
 * runtime replace http.request, https.request and http.ClientRequest on Node's core modules,
 * which every test file of a jest worker shares, and nothing puts them back. The core's upstream
 * transport is http.request: stacked interceptors left by earlier files would turn a test's nock
 * answers and errors into another file's. Each file starts from Node's own functions instead.
 */
import http from 'node:http';
import https from 'node:https';

interface Pristine {
  httpRequest: typeof http.request;
  httpGet: typeof http.get;
  ClientRequest: typeof http.ClientRequest;
  httpsRequest: typeof https.request;
  httpsGet: typeof https.get;
}

const KEY = Symbol.for('switchyard.test.pristine-http');
const holder = http as unknown as Record<symbol, Pristine | undefined>;
// The first file of the worker sees Node's own functions; later files restore them.
const pristine = (holder[KEY] ??= { httpRequest: http.request, httpGet: http.get, ClientRequest: http.ClientRequest, httpsRequest: https.request, httpsGet: https.get });
Object.assign(http, { request: pristine.httpRequest, get: pristine.httpGet, ClientRequest: pristine.ClientRequest });
Object.assign(https, { request: pristine.httpsRequest, get: pristine.httpsGet });
