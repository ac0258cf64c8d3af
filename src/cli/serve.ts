import type { Command } from 'commander';
import { ConfigError } from '../server/config';
import { installSignalHandlers, startServer } from '../server/server';
import type { CliIo } from './io';

interface ServeFlags {
  port?: string;
  host?: string;
  config?: string;
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
