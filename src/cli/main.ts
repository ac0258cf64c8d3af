#!/usr/bin/env node
import { Command } from 'commander';
import { findConfigFile, loadServerConfig } from '../server/config';
import { registerDoctorCommand } from './doctor';
import { processIo, type CliIo } from './io';
import { registerJobsCommands } from './jobs';
import { registerKeysCommands } from './keys';
import { registerRouteCommand } from './route';
import { registerServeCommand } from './serve';
import { registerUsageCommand } from './usage';

/** The configured store path for `keys` and `usage`, when a valid configuration names one. */
function configuredStorePath(io: CliIo): string | undefined {
  if (!findConfigFile(undefined, io.env, io.cwd)) return undefined;
  try {
    return loadServerConfig({ env: io.env, cwd: io.cwd }).config.server.store_path;
  } catch {
    return undefined;
  }
}

/** The `switchyard` command line. */
export function buildProgram(io: CliIo = processIo): Command {
  const program = new Command('switchyard')
    .description('Switchyard: an open AI gateway with one OpenAI-compatible API for every provider')
    .showHelpAfterError();
  registerServeCommand(program, io);
  registerRouteCommand(program, io);
  registerDoctorCommand(program, io);
  const storeOpts = { storePath: () => configuredStorePath(io), out: io.out };
  registerKeysCommands(program, storeOpts);
  registerUsageCommand(program, storeOpts);
  registerJobsCommands(program, { out: io.out, env: io.env, cwd: io.cwd });
  return program;
}

if (require.main === module) {
  buildProgram()
    .parseAsync(process.argv)
    .catch((err: unknown) => {
      console.error(`switchyard: ${err instanceof Error ? err.message : String(err)}`);
      process.exitCode = 1;
    });
}
