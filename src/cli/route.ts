import { InvalidArgumentError, type Command } from 'commander';
import type { Plan, RoutedChatRequest } from '../core/routing/types';
import { CapabilitySchema, PreferSchema } from '../core/routing/types';
import { ConfigError, loadServerConfig } from '../server/config';
import { formatUsd } from '../server/story';
import { buildSwitchyard } from '../server/switchyard-factory';
import type { CliIo } from './io';
import { formatRows } from './table';

interface RouteFlags {
  explain?: string;
  model: string;
  prefer?: string;
  require?: string;
  tag?: string[];
  config?: string;
  json?: boolean;
}

function latency(ms: number): string {
  return ms >= 1000 ? `${(ms / 1000).toFixed(1)} s` : `${Math.round(ms)} ms`;
}

/** A plan as a person reads it: the choice and why, the ranked candidates, the excluded ones. */
export function formatPlan(plan: Plan, request: RoutedChatRequest): string[] {
  const lines: string[] = [];
  const chosen = plan.candidates[0];
  lines.push(`Request: model "${request.model}", prefer ${plan.prefer}, about ${plan.estimatedPromptTokens} prompt tokens`);
  lines.push(chosen ? `Chosen:  ${chosen.key} (provider ${chosen.provider})` : 'Chosen:  nothing: no model can take this request');
  if (plan.rule) lines.push(`Rule:    ${plan.rule}`);
  lines.push(`Why:     ${plan.reason}`);
  lines.push('');
  if (plan.candidates.length > 0) {
    lines.push('Candidates, best first (tried in this order on failure):');
    const rows = [['#', 'model', 'score', 'est. cost', 'est. latency']];
    plan.candidates.forEach((c, i) => rows.push([String(i + 1), c.key, c.score.toFixed(3), `$${formatUsd(c.expectedCostUsd)}`, latency(c.expectedLatencyMs)]));
    for (const line of formatRows(rows)) lines.push(`  ${line}`);
  }
  if (plan.excluded.length > 0) {
    lines.push('');
    lines.push('Excluded:');
    const rows = plan.excluded.map((x) => [x.key, x.reason]);
    for (const line of formatRows(rows)) lines.push(`  ${line}`);
  }
  return lines;
}

/** Why nothing was chosen: the plan's reason and every exclusion. */
function noRouteReason(plan: Plan): string {
  const excluded = plan.excluded.map((x) => `${x.key}: ${x.reason}`);
  return [plan.reason, ...excluded].filter(Boolean).join('; ');
}

/**
 * `--tag a --tag b,c` → [a, b, c]. One value per flag (not `<tag...>`), so a tag never swallows
 * the prompt that follows it.
 */
function collectTags(value: string, previous: string[] | undefined): string[] {
  const tags = value.split(',').map((t) => t.trim()).filter(Boolean);
  if (tags.length === 0) throw new InvalidArgumentError('give a tag, e.g. --tag creative');
  return [...(previous ?? []), ...tags];
}

function buildRequest(prompt: string, flags: RouteFlags): RoutedChatRequest {
  const routing: NonNullable<RoutedChatRequest['routing']> = {};
  if (flags.prefer !== undefined) {
    const prefer = PreferSchema.safeParse(flags.prefer);
    if (!prefer.success) throw new ConfigError('--prefer', [`--prefer: must be one of ${PreferSchema.options.join(', ')}`]);
    routing.prefer = prefer.data;
  }
  if (flags.require) {
    const caps = flags.require.split(',').map((s) => s.trim()).filter(Boolean);
    const parsed = CapabilitySchema.array().safeParse(caps);
    if (!parsed.success) throw new ConfigError('--require', [`--require: capabilities are ${CapabilitySchema.options.join(', ')}`]);
    routing.require = parsed.data;
  }
  if (flags.tag?.length) routing.tags = flags.tag;
  return { model: flags.model, messages: [{ role: 'user', content: prompt }], ...(Object.keys(routing).length ? { routing } : {}) };
}

/** `switchyard route --explain "<prompt>"`: the routing decision, without calling any model. */
export function registerRouteCommand(program: Command, io: CliIo): Command {
  return program
    .command('route')
    .description('explain which model a prompt would be routed to, and why (dry run: no model is called)')
    .argument('[prompt]', 'the prompt (or use --explain)')
    .option('--explain <prompt>', 'the prompt to plan for')
    .option('-m, --model <model>', 'requested model: auto, auto:cost, a catalog key or alias', 'auto')
    .option('--prefer <goal>', 'cost, latency, quality or balanced')
    .option('--require <caps>', 'comma-separated capabilities: tools, vision, json_schema')
    .option('--tag <tag>', 'a tag config rules can match (when: { tag }); repeat or comma-separate for several', collectTags)
    .option('-c, --config <file>', 'configuration file')
    .option('--json', 'print the plan as JSON')
    .action(async (positional: string | undefined, flags: RouteFlags, cmd: Command) => {
      const prompt = flags.explain ?? positional;
      if (!prompt) cmd.error('error: give a prompt: switchyard route --explain "your prompt"', { exitCode: 1 });
      try {
        const request = buildRequest(prompt as string, flags);
        const { config } = loadServerConfig({ file: flags.config, env: io.env, cwd: io.cwd });
        const built = await buildSwitchyard(config, { env: io.env });
        try {
          const plan = built.switchyard.plan(request);
          if (flags.json) io.out(JSON.stringify(plan, null, 2));
          else {
            io.out(`Providers: ${built.providers.join(', ') || 'none'}${built.mode === 'configured' ? '' : ` (${built.mode} mode)`}`);
            for (const line of formatPlan(plan, request)) io.out(line);
          }
          if (plan.candidates.length === 0) {
            io.err(`switchyard: no model can take this request: ${noRouteReason(plan)}`);
            process.exitCode = 1;
          }
        } finally {
          await built.switchyard.close();
        }
      } catch (err) {
        if (!(err instanceof ConfigError) && !(err instanceof Error && err.name === 'GatewayError')) throw err;
        io.err(`switchyard: ${err.message}`);
        process.exitCode = 1;
      }
    });
}
