import dns from 'node:dns';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { registerServeCommand } from '../../src/cli/serve';
import { runCli, type CliRun } from '../helpers/cli';
import { tempDir } from '../server/helpers/store';

/** What getaddrinfo reports for a name that does not resolve (as node:dns builds it). */
function notFound(hostname: string): NodeJS.ErrnoException {
  return Object.assign(new Error(`getaddrinfo ENOTFOUND ${hostname}`), { errno: -3008, code: 'ENOTFOUND', syscall: 'getaddrinfo', hostname });
}

describe('switchyard serve: start-up errors', () => {
  let tmp: ReturnType<typeof tempDir>;
  let err: string[];
  beforeEach(() => {
    tmp = tempDir();
    err = [];
    writeFileSync(
      join(tmp.dir, 'switchyard.yaml'),
      ['server:', '  port: 0', '  log_level: silent', `  store_path: ${tmp.file()}`, 'providers:', '  demo: { type: demo }'].join('\n'),
    );
    process.exitCode = undefined;
  });
  afterEach(() => {
    jest.restoreAllMocks();
    process.exitCode = undefined;
    tmp.remove();
  });

  function run(args: string[]): Promise<CliRun> {
    return runCli(args, (program, out) => registerServeCommand(program, { out, err: (l) => err.push(l), env: {}, cwd: tmp.dir }));
  }

  it('names server.host and the resolver error when the host does not resolve', async () => {
    // The name is never sent to a DNS server: the lookup net.Server.listen makes fails as getaddrinfo would.
    const lookup = jest.spyOn(dns, 'lookup').mockImplementation(((hostname: string, _opts: unknown, cb?: (e: Error) => void) => {
      const callback = (cb ?? _opts) as (e: Error) => void;
      process.nextTick(() => callback(notFound(hostname)));
    }) as unknown as typeof dns.lookup);
    const res = await run(['serve', '--host', '256.1.1.1']);
    expect(lookup).toHaveBeenCalledWith('256.1.1.1', expect.anything(), expect.any(Function));
    expect(res.error).toBeUndefined();
    expect(err).toEqual([expect.stringMatching(/^switchyard: server\.host: cannot listen on 256\.1\.1\.1 \(getaddrinfo ENOTFOUND\); /)]);
    expect(err[0]).not.toMatch(/\n\s+at /); // no stack
    expect(process.exitCode).toBe(1);
  });

  it('names server.host when the address is not one of this machine', async () => {
    // 192.0.2.1 is TEST-NET-1 (RFC 5737): never assigned to a host, so binding it fails without any lookup.
    await run(['serve', '--host', '192.0.2.1']);
    expect(err).toEqual([expect.stringMatching(/^switchyard: server\.host: cannot listen on 192\.0\.2\.1 \(listen EADDRNOTAVAIL\); /)]);
    expect(process.exitCode).toBe(1);
  });
});
