import type { RequestHandler } from 'express';
import { GatewayError } from '../core/errors';

/**
 * A gateway bound to the loopback interface serves local programs, usually without keys. A web
 * page the user visits can still reach it: a cross-origin POST with a text/plain body needs no
 * preflight (CSRF), and DNS rebinding lets a page's own host name point at 127.0.0.1. Browsers
 * always say where such requests come from, so requests whose Host is not a loopback name, or
 * whose Origin is not a loopback origin, are refused. Webhook routes are left alone: they carry
 * their own signatures and are often reached through a tunnel whose host name is not local.
 */

const LOOPBACK_HOSTNAMES: ReadonlySet<string> = new Set(['localhost', '127.0.0.1', '[::1]']);
const WEBHOOK_PREFIXES = ['/webhooks/', '/hooks/'];

/** The host name of a Host header or an origin's authority, without the port. */
function hostnameOf(authority: string): string {
  const bracketed = /^(\[[^\]]*\])(?::\d+)?$/.exec(authority);
  if (bracketed) return bracketed[1]!.toLowerCase();
  return authority.replace(/:\d+$/, '').toLowerCase();
}

export function isLoopbackHostHeader(host: string | undefined): boolean {
  return host !== undefined && LOOPBACK_HOSTNAMES.has(hostnameOf(host));
}

export function isLoopbackOrigin(origin: string): boolean {
  const m = /^https?:\/\/([^/]+)$/i.exec(origin);
  return m !== null && LOOPBACK_HOSTNAMES.has(hostnameOf(m[1]!));
}

const HOW_TO_SERVE_OTHERS = 'create a key with `switchyard keys create --name NAME` and set HOST to serve other clients';

/** Express middleware refusing non-local Host and Origin headers (see above). */
export function localClientsOnly(): RequestHandler {
  return (req, _res, next) => {
    if (WEBHOOK_PREFIXES.some((p) => req.path.startsWith(p))) return next();
    if (!isLoopbackHostHeader(req.headers.host)) {
      return next(new GatewayError(403, `This gateway listens on the loopback interface and answers local clients only: the Host header is not a local name; ${HOW_TO_SERVE_OTHERS}.`, { code: 'non_local_host' }));
    }
    const origin = req.headers.origin;
    if (origin !== undefined && !isLoopbackOrigin(origin)) {
      return next(new GatewayError(403, `This gateway listens on the loopback interface and does not answer web pages of other origins; ${HOW_TO_SERVE_OTHERS}.`, { code: 'cross_origin_request' }));
    }
    next();
  };
}
