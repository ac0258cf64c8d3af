import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { registerRouteCommand } from '../../src/cli/route';
import { runCli, type CliRun } from '../helpers/cli';
import { tempDir } from '../server/helpers/store';

describe('switchyard route --tag', () => {
  let tmp: ReturnType<typeof tempDir>;
  let err: string[];
  beforeEach(() => {
    tmp = tempDir();
    err = [];
    writeFileSync(
      join(tmp.dir, 'switchyard.yaml'),
      ['providers:', '  demo: { type: demo }', 'routing:', '  rules:', '    - name: creative-to-pro', '      when: { tag: creative }', '      use: [demo/pro]'].join('\n'),
    );
    process.exitCode = undefined;
  });
  afterEach(() => {
    process.exitCode = undefined;
    tmp.remove();
  });

  function run(args: string[]): Promise<CliRun> {
    return runCli(args, (program, out) => registerRouteCommand(program, { out, err: (l) => err.push(l), env: {}, cwd: tmp.dir }));
  }

  async function tagsOf(args: string[]): Promise<unknown> {
    const res = await run(['route', ...args, '--json']);
    expect(res.error).toBeUndefined();
    expect(err).toEqual([]);
    return JSON.parse(res.out.join('\n'));
  }

  it('takes the prompt after --tag as the prompt, not as another tag', async () => {
    const res = await run(['route', '--tag', 'creative', 'write a poem']);
    expect(res.error).toBeUndefined();
    expect(err).toEqual([]);
    const text = res.out.join('\n');
    expect(text).toContain('Rule:    creative-to-pro');
    expect(text).toMatch(/Chosen: {2}demo\/pro/);
    expect(process.exitCode).toBeUndefined();
  });

  it('collects repeated and comma-separated tags', async () => {
    expect(await tagsOf(['--tag', 'a', '--tag', 'creative', 'write a poem'])).toMatchObject({ rule: 'creative-to-pro' });
    expect(await tagsOf(['--tag', 'a, creative', 'write a poem'])).toMatchObject({ rule: 'creative-to-pro' });
    expect(await tagsOf(['write a poem', '--tag', 'other'])).not.toHaveProperty('rule', 'creative-to-pro');
  });

  it('rejects an empty --tag naming the flag', async () => {
    const res = await run(['route', '--tag', ' , ', 'write a poem']);
    expect(res.error?.code).toBe('commander.invalidArgument');
    expect(res.err.join('')).toMatch(/--tag .*give a tag/);
  });

  it('documents the repeatable form in --help', async () => {
    const res = await run(['route', '--help']);
    expect(res.out.join('').replace(/\s+/g, ' ')).toContain('--tag <tag> a tag config rules can match (when: { tag }); repeat or comma-separate for several');
  });
});
