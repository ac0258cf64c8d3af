import type { Command } from 'commander';
import { ConfigError } from '../server/config';
import { installSignalHandlers, startServer } from '../server/server';
import type { CliIo } from './io';

interface ServeFlags {
  port?: string;
  host?: string;
  config?: string;
}

interface ListenError {
  code?: string;
  syscall?: string;
  hostname?: string;
  address?: string;
}

/**
 * A start-up error caused by the host to listen on (a name that does not resolve, an address that
 * is not this machine's), as one line naming server.host; undefined for any other error.
 */
function hostErrorMessage(err: unknown, flagHost: string | undefined): string | undefined {
  const e = (err ?? {}) as ListenError;
  if (e.syscall !== 'getaddrinfo' && e.code !== 'EADDRNOTAVAIL') return undefined;
  const host = e.hostname ?? e.address ?? flagHost ?? 'the configured host';
  return `server.host: cannot listen on ${host} (${e.syscall ?? 'listen'} ${e.code ?? 'error'}); use an address of this machine, e.g. 127.0.0.1 or 0.0.0.0 (--host, HOST or server.host)`;
}

/** `switchyard serve`: the gateway, until SIGTERM/SIGINT (SIGHUP reloads the configuration). */
export function registerServeCommand(program: Command, io: CliIo): Command {
  return program
    .command('serve')
    .description('run the gateway (default port 8787; SIGHUP reloads the config, SIGTERM drains and exits)')
    .option('-p, --port <port>', 'port to listen on (default: $PORT or 8787)')
    .option('--host <host>', 'interface to listen on (default: $HOST, else 127.0.0.1 until a gateway key exists)')
    .option('-c, --config <file>', 'configuration file (default: $SWITCHYARD_CONFIG or ./switchyard.yaml)')
    .action(async (flags: ServeFlags) => {
      try {
        const running = await startServer({ file: flags.config, port: flags.port, host: flags.host, env: io.env, cwd: io.cwd });
        installSignalHandlers(running);
      } catch (err) {
        if (err instanceof ConfigError) {
          io.err(`switchyard: ${err.message}`);
          process.exitCode = 1;
          return;
        }
        const hostProblem = hostErrorMessage(err, flags.host);
        if (hostProblem) {
          io.err(`switchyard: ${hostProblem}`);
          process.exitCode = 1;
          return;
        }
        const code = (err as { code?: string }).code;
        if (code === 'EADDRINUSE' || code === 'EACCES') {
          io.err(`switchyard: cannot listen: ${(err as Error).message} (choose another port with --port or PORT)`);
          process.exitCode = 1;
          return;
        }
        throw err;
      }
    });
}
