/**
 * Host names as callback rules compare them. URL.hostname is already lowercase, IPv6 in brackets
 * and IPv4 canonical ("0x7f.1" -> "127.0.0.1"); on top of that the trailing dot of a
 * fully-qualified name ("localhost.") is dropped, as it names the same host.
 */
import { isIP } from 'node:net';

/** A URL's hostname in the form callback_hosts are kept and compared in. */
export function canonicalHost(hostname: string): string {
  return hostname.toLowerCase().replace(/\.+$/, '');
}

/** The bare name or address: canonical, without IPv6 brackets (for name and address checks). */
export function bareHost(hostname: string): string {
  return canonicalHost(hostname.replace(/^\[|\]$/g, ''));
}

/**
 * A configured host (name, IPv4, IPv6 with or without brackets) in canonical form, or undefined
 * when it is not just a host (a scheme, port, path or user part, or not a valid host at all).
 */
export function configuredHost(raw: string): string | undefined {
  if (!/^[^\s/?#@\\]+$/.test(raw)) return undefined;
  let url: URL;
  try {
    url = new URL(`http://${isIP(raw) === 6 ? `[${raw}]` : raw}`);
  } catch {
    return undefined;
  }
  if (url.host !== url.hostname) return undefined;
  const host = canonicalHost(url.hostname);
  return host === '' ? undefined : host;
}
