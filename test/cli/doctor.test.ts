import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { registerDoctorCommand } from '../../src/cli/doctor';
import { runCli, type CliRun } from '../helpers/cli';
import { tempDir } from '../server/helpers/store';

describe('switchyard doctor --timeout', () => {
  let tmp: ReturnType<typeof tempDir>;
  beforeEach(() => {
    tmp = tempDir();
    writeFileSync(join(tmp.dir, 'switchyard.yaml'), ['server:', `  store_path: ${tmp.file()}`, 'providers:', '  demo: { type: demo }'].join('\n'));
    process.exitCode = undefined;
  });
  afterEach(() => {
    process.exitCode = undefined;
    tmp.remove();
  });

  function run(args: string[]): Promise<CliRun> {
    return runCli(args, (program, out) => registerDoctorCommand(program, { out, err: out, env: {}, cwd: tmp.dir }));
  }

  it.each([['abc'], ['-5'], ['0'], ['1.5'], ['2147483648']])('rejects --timeout %s naming the flag and what it takes, before any check', async (value) => {
    const res = await run(['doctor', '--timeout', value]);
    expect(res.error?.exitCode).toBe(1);
    expect(res.err.join('')).toContain(`error: --timeout: must be a positive integer number of milliseconds (1 to 2147483647), got '${value}'`);
    expect(res.out).toEqual([]); // nothing was checked with a made-up timeout
  });

  it('runs the checks with a valid --timeout', async () => {
    const res = await run(['doctor', '--timeout', '500']);
    expect(res.error).toBeUndefined();
    expect(res.out.join('\n')).toMatch(/^\s+demo\s+ok\s+3 model\(s\) listed/m);
    expect(process.exitCode).toBeUndefined();
  });
});
