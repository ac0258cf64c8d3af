import { Command, CommanderError } from 'commander';

export interface CliRun {
  out: string[];
  err: string[];
  /** A usage error commander reported (unknown option, missing argument...), returned rather than thrown. */
  error?: CommanderError;
}

/** Runs `switchyard <args>` in-process with the commands `register` mounts, capturing what they print. */
export async function runCli(args: string[], register: (program: Command, out: (line: string) => void) => void): Promise<CliRun> {
  const result: CliRun = { out: [], err: [] };
  const program = new Command('switchyard')
    .exitOverride()
    .configureOutput({ writeOut: (s) => result.out.push(s), writeErr: (s) => result.err.push(s) });
  register(program, (line) => result.out.push(line));
  try {
    await program.parseAsync(args, { from: 'user' });
  } catch (err) {
    if (!(err instanceof CommanderError)) throw err;
    result.error = err;
  }
  return result;
}
