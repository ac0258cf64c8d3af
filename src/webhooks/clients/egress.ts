/**
 * Where callbacks to caller-supplied URLs may connect: public unicast addresses only.
 *
 * The check runs when the socket connects, on the addresses DNS returned for that connection
 * (and on IP literals, which sockets never look up). So a name that resolves to an internal
 * address, or resolves to a public one at intake and an internal one later (DNS rebinding), is
 * never reached. The connection is made to exactly the addresses that were checked.
 */
import { promises as dns } from 'node:dns';
import { BlockList, isIP, type LookupFunction } from 'node:net';
import type { Agent } from 'undici';

export interface ResolvedAddress {
  address: string;
  family: 4 | 6;
}

/** Every address a host name resolves to (the system resolver by default; tests inject one). */
export type Resolver = (hostname: string) => Promise<ResolvedAddress[]>;

/** Special-purpose IPv4 ranges (IANA registry): nothing a callback receiver on the internet uses. */
const SPECIAL_V4 = new BlockList();
for (const [net, bits] of [
  ['0.0.0.0', 8], // "this network"
  ['10.0.0.0', 8], // private
  ['100.64.0.0', 10], // shared address space (CGNAT)
  ['127.0.0.0', 8], // loopback
  ['169.254.0.0', 16], // link-local, cloud metadata services
  ['172.16.0.0', 12], // private
  ['192.0.0.0', 24], // IETF protocol assignments
  ['192.0.2.0', 24], // documentation
  ['192.88.99.0', 24], // 6to4 relay anycast
  ['192.168.0.0', 16], // private
  ['198.18.0.0', 15], // benchmarking
  ['198.51.100.0', 24], // documentation
  ['203.0.113.0', 24], // documentation
  ['224.0.0.0', 4], // multicast
  ['240.0.0.0', 4], // reserved, limited broadcast
] as const) {
  SPECIAL_V4.addSubnet(net, bits, 'ipv4');
}

/** IPv6 outside global unicast (loopback, IPv4-compatible, ULA, link-local, multicast...) is never public. */
const GLOBAL_UNICAST_V6 = new BlockList();
GLOBAL_UNICAST_V6.addSubnet('2000::', 3, 'ipv6');

/** Special-purpose ranges inside global unicast (2002::/16, 6to4, is judged by the IPv4 address it embeds). */
const SPECIAL_V6 = new BlockList();
for (const [net, bits] of [
  ['2001::', 23], // IETF protocol assignments: Teredo, benchmarking, ORCHID
  ['2001:db8::', 32], // documentation
  ['3fff::', 20], // documentation
] as const) {
  SPECIAL_V6.addSubnet(net, bits, 'ipv6');
}

/** The eight 16-bit groups of an IPv6 address (a zone id is dropped), or undefined. */
function ipv6Groups(ip: string): number[] | undefined {
  let text = ip.split('%')[0]!.toLowerCase();
  if (isIP(text) !== 6) return undefined;
  const dotted = /(\d+)\.(\d+)\.(\d+)\.(\d+)$/.exec(text);
  if (dotted) {
    const [a, b, c, d] = dotted.slice(1).map(Number) as [number, number, number, number];
    text = `${text.slice(0, dotted.index)}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
  }
  const parse = (part: string | undefined) => (part ? part.split(':').map((g) => parseInt(g, 16)) : []);
  const [head, tail] = text.split('::');
  const left = parse(head);
  if (tail === undefined) return left;
  const right = parse(tail);
  return [...left, ...new Array<number>(8 - left.length - right.length).fill(0), ...right];
}

function ipv4Of(high: number, low: number): string {
  return `${high >> 8}.${high & 0xff}.${low >> 8}.${low & 0xff}`;
}

/** The IPv4 address an IPv6 address stands for: IPv4-mapped, NAT64 (64:ff9b::/96) or 6to4 (2002::/16). */
function embeddedIpv4(g: number[]): string | undefined {
  const zeros = (from: number, to: number) => g.slice(from, to).every((x) => x === 0);
  if (zeros(0, 5) && g[5] === 0xffff) return ipv4Of(g[6]!, g[7]!);
  if (g[0] === 0x64 && g[1] === 0xff9b && zeros(2, 6)) return ipv4Of(g[6]!, g[7]!);
  if (g[0] === 0x2002) return ipv4Of(g[1]!, g[2]!);
  return undefined;
}

/** True for public unicast addresses; false for internal, special-purpose and malformed ones. */
export function isPublicAddress(ip: string): boolean {
  if (isIP(ip) === 4) return !SPECIAL_V4.check(ip, 'ipv4');
  const groups = ipv6Groups(ip);
  if (!groups || groups.length !== 8) return false;
  const v4 = embeddedIpv4(groups);
  if (v4 !== undefined) return isPublicAddress(v4);
  const canonical = groups.map((g) => g.toString(16)).join(':');
  return GLOBAL_UNICAST_V6.check(canonical, 'ipv6') && !SPECIAL_V6.check(canonical, 'ipv6');
}

const BLOCKED = 'ERR_CALLBACK_DESTINATION_BLOCKED';

export interface BlockedDestinationError extends Error {
  code: typeof BLOCKED;
}

/**
 * A connection refused by the address check; the resolved address is not named (callers read
 * this). A plain Error with a code, not a subclass: fetch keeps only errors it recognises as such
 * as the `cause` of its "fetch failed".
 */
function blockedDestinationError(host: string): BlockedDestinationError {
  const message = `refused to connect to ${host}: it is or resolves to a non-public address (loopback, private, link-local or another special-purpose range)`;
  return Object.assign(new Error(message), { code: BLOCKED } as const);
}

/** The address check's refusal, if it is somewhere in `err`'s cause chain (fetch wraps it). */
export function blockedDestination(err: unknown): BlockedDestinationError | undefined {
  for (let e = err, depth = 0; e && depth < 5; e = (e as { cause?: unknown }).cause, depth++) {
    if ((e as { code?: unknown }).code === BLOCKED) return e as BlockedDestinationError;
  }
  return undefined;
}

export function isBlockedDestination(err: unknown): boolean {
  return blockedDestination(err) !== undefined;
}

const systemResolver: Resolver = async (hostname) => {
  const found = await dns.lookup(hostname, { all: true });
  return found.map((a) => ({ address: a.address, family: a.family === 6 ? 6 : 4 }));
};

function familyOf(family: number | string | undefined): 4 | 6 | undefined {
  if (family === 4 || family === 'IPv4') return 4;
  if (family === 6 || family === 'IPv6') return 6;
  return undefined;
}

/** A `lookup` for net.connect that refuses the connection when any address found is not allowed. */
function guardedLookup(resolve: Resolver, allowed: (ip: string) => boolean): LookupFunction {
  return (hostname, options, callback) => {
    const family = familyOf(options.family);
    resolve(hostname).then(
      (found) => {
        const addresses = family ? found.filter((a) => a.family === family) : found;
        if (addresses.length === 0) {
          return callback(Object.assign(new Error(`getaddrinfo ENOTFOUND ${hostname}`), { code: 'ENOTFOUND', hostname }), '', 0);
        }
        if (addresses.some((a) => !allowed(a.address))) return callback(blockedDestinationError(hostname), '', 0);
        if (options.all) return callback(null, addresses);
        callback(null, addresses[0]!.address, addresses[0]!.family);
      },
      (err: NodeJS.ErrnoException) => callback(err, '', 0),
    );
  };
}

export interface CallbackAgentOptions {
  resolve?: Resolver;
  /** Which addresses may be connected to (default: public ones). */
  allowed?: (ip: string) => boolean;
}

/** The connection pool for callbacks to caller-supplied URLs (the `dispatcher` of their fetch). */
export function createCallbackAgent(opts: CallbackAgentOptions = {}): Agent {
  // undici is required here, not at import: loading it costs ~30 MB of RSS (its WASM parser).
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { Agent, buildConnector } = require('undici') as typeof import('undici');
  const allowed = opts.allowed ?? isPublicAddress;
  const connect = buildConnector({ lookup: guardedLookup(opts.resolve ?? systemResolver, allowed) });
  return new Agent({
    connect(options, callback) {
      const host = options.hostname.replace(/^\[(.*)\]$/, '$1');
      if (isIP(host) !== 0 && !allowed(host)) return callback(blockedDestinationError(host), null);
      connect(options, callback);
    },
  });
}
