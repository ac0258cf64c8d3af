import { createCallbackAgent, isBlockedDestination, isPublicAddress, type Resolver } from '../../src/webhooks/clients/egress';
import { localServer, type LocalServer } from './helpers';

describe('isPublicAddress', () => {
  it.each([
    ['127.0.0.1', 'loopback'],
    ['127.255.0.9', 'loopback /8'],
    ['0.0.0.0', 'this network'],
    ['10.1.2.3', 'private'],
    ['172.16.5.4', 'private'],
    ['192.168.0.1', 'private'],
    ['100.64.0.1', 'CGNAT'],
    ['169.254.169.254', 'link-local (cloud metadata)'],
    ['192.0.0.8', 'IETF protocol assignments'],
    ['192.0.2.1', 'documentation'],
    ['198.18.0.1', 'benchmarking'],
    ['198.19.255.255', 'benchmarking /15'],
    ['198.51.100.7', 'documentation'],
    ['203.0.113.7', 'documentation'],
    ['192.88.99.1', '6to4 relay anycast'],
    ['224.0.0.1', 'multicast'],
    ['239.255.255.250', 'multicast'],
    ['240.0.0.1', 'reserved'],
    ['255.255.255.255', 'broadcast'],
    ['::', 'unspecified'],
    ['::1', 'loopback'],
    ['::7f00:1', 'IPv4-compatible loopback'],
    ['::127.0.0.1', 'IPv4-compatible loopback, dotted'],
    ['::ffff:127.0.0.1', 'IPv4-mapped loopback'],
    ['::ffff:7f00:1', 'IPv4-mapped loopback, hex'],
    ['::ffff:169.254.169.254', 'IPv4-mapped metadata'],
    ['::ffff:0:a00:1', 'IPv4-translated private'],
    ['64:ff9b::7f00:1', 'NAT64 of loopback'],
    ['64:ff9b::10.0.0.1', 'NAT64 of private'],
    ['64:ff9b:1::808:808', 'local-use NAT64'],
    ['2002:7f00:1::1', '6to4 of loopback'],
    ['2002:c0a8:101::1', '6to4 of 192.168.1.1'],
    ['2001::1', 'Teredo'],
    ['2001:2::1', 'benchmarking'],
    ['2001:db8::1', 'documentation'],
    ['3fff::1', 'documentation'],
    ['100::1', 'discard-only'],
    ['fc00::1', 'unique local'],
    ['fd12:3456::1', 'unique local'],
    ['fe80::1', 'link-local'],
    ['fe80::1%eth0', 'link-local with zone'],
    ['fec0::1', 'site-local'],
    ['ff02::1', 'multicast'],
    ['5f00::1', 'SRv6 SIDs'],
    ['not-an-ip', 'not an address'],
  ])('refuses %s (%s)', (ip) => {
    expect(isPublicAddress(ip)).toBe(false);
  });

  it.each(['8.8.8.8', '93.184.216.34', '1.1.1.1', '100.63.255.255', '100.128.0.1', '172.32.0.1', '198.20.0.1', '223.255.255.254', '2606:4700:4700::1111', '2a00:1450:4001:81b::200e', '::ffff:8.8.8.8', '64:ff9b::808:808', '2002:808:808::1'])(
    'allows the public address %s',
    (ip) => {
      expect(isPublicAddress(ip)).toBe(true);
    },
  );
});

describe('callback agent: addresses checked at connect time', () => {
  let server: LocalServer;
  const agents: Array<{ close(): Promise<void> }> = [];

  beforeAll(async () => {
    // Each answer closes its connection, so every request connects (and is checked) again.
    server = await localServer((_req, res) => {
      res.writeHead(200, { connection: 'close', 'content-type': 'text/plain' });
      res.end('INTERNAL-ONLY-SECRET');
    });
  });
  afterAll(async () => {
    await Promise.all(agents.map((a) => a.close()));
    await server.close();
  });

  function agent(resolve: Resolver, allowed?: (ip: string) => boolean) {
    const a = createCallbackAgent({ resolve, allowed });
    agents.push(a);
    return a;
  }

  async function refusal(url: string, dispatcher: ReturnType<typeof agent>): Promise<unknown> {
    try {
      await fetch(url, { dispatcher, redirect: 'manual' });
    } catch (err) {
      return err;
    }
    throw new Error(`${url} was reached`);
  }

  it('never connects to a name that resolves to loopback', async () => {
    const before = server.hits.length;
    const err = await refusal(`http://metadata.rebind.test:${server.port}/x`, agent(async () => [{ address: '127.0.0.1', family: 4 }]));
    expect(isBlockedDestination(err)).toBe(true);
    expect(server.hits.length).toBe(before);
  });

  it('refuses when any resolved address is internal, IPv4-mapped IPv6 included', async () => {
    const before = server.hits.length;
    const mixed = agent(async () => [
      { address: '93.184.216.34', family: 4 },
      { address: '::ffff:127.0.0.1', family: 6 },
    ]);
    expect(isBlockedDestination(await refusal(`http://mixed.test:${server.port}/x`, mixed))).toBe(true);
    expect(server.hits.length).toBe(before);
  });

  it('refuses IP literals, which the socket never looks up', async () => {
    const before = server.hits.length;
    const publicName = agent(async () => [{ address: '93.184.216.34', family: 4 }]);
    expect(isBlockedDestination(await refusal(`${server.url}/x`, publicName))).toBe(true);
    expect(server.hits.length).toBe(before);
  });

  it('checks every new connection, so a name re-resolving to another address (DNS rebinding) is refused', async () => {
    const answers = ['127.0.0.1', '127.0.0.2'];
    const resolver: Resolver = async () => [{ address: answers.shift() ?? '127.0.0.2', family: 4 }];
    // Only 127.0.0.1 passes this checker, standing in for "a public address".
    const rebinding = agent(resolver, (ip) => ip === '127.0.0.1');
    const before = server.hits.length;
    const first = await fetch(`http://rebind.test:${server.port}/first`, { dispatcher: rebinding, redirect: 'manual' });
    expect(first.status).toBe(200);
    await first.text();
    expect(server.hits.slice(before)).toEqual(['/first']);
    expect(isBlockedDestination(await refusal(`http://rebind.test:${server.port}/second`, rebinding))).toBe(true);
    expect(server.hits.slice(before)).toEqual(['/first']);
  });
});
