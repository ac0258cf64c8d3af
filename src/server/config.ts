import { existsSync, readFileSync, statSync } from 'node:fs';
import { extname, resolve } from 'node:path';
import { parseDocument } from 'yaml';
import { z } from 'zod';
import { CoreConfigSchema, ModelOverrideSchema, PromptPatternSchema, RoutingConfigSchema, RuleSchema } from '../core/config';
import { formatPath } from '../core/errors';
import { providerUrlProblems } from '../providers/registry';
import { FlowsSchema, WebhooksSectionSchema } from '../webhooks/config';
import { flowReferenceIssues, referenceIssues, type ReferenceIssue } from './config-references';
import { LOG_LEVELS } from './log';

/** Options of the built-in demo provider family (simulated models, no keys). */
export const DemoOptionsSchema = z.strictObject({
  /** Share of calls that fail with a simulated 429 or 503, so fallback is visible. */
  failure_rate: z.number().min(0).max(1).default(0.08),
  /** Multiplies the simulated latencies (1 = realistic, 0 = instant). */
  latency_scale: z.number().min(0).max(10).default(0.25),
  /** Seeds failures; answers are always deterministic. */
  seed: z.number().int().optional(),
});

const BODY_LIMIT_RE = /^\d+(?:\.\d+)?\s*(?:b|kb|mb)$/i;

export const ServerSectionSchema = z.strictObject({
  port: z.number().int().min(0).max(65_535).default(8787),
  /** Interface to listen on; default 127.0.0.1 when no gateway key exists, else 0.0.0.0. */
  host: z.string().min(1).optional(),
  /** Guards the /admin API; without it the admin API is off. */
  admin_key: z.string().min(16, 'must be at least 16 characters').optional(),
  /** Largest accepted request body, e.g. "4mb". */
  body_limit: z.union([z.string().regex(BODY_LIMIT_RE, 'a size such as "512kb" or "4mb"'), z.number().int().positive()]).default('4mb'),
  /** SQLite file of keys and usage (SWITCHYARD_STORE overrides; default ./switchyard.sqlite). */
  store_path: z.string().min(1).optional(),
  /** Keep prompts and completions in usage rows, PII-redacted (emails, phone and card numbers). */
  log_prompts: z.boolean().default(false),
  log_level: z.enum(LOG_LEVELS).default('info'),
  /** How long SIGTERM waits for in-flight requests before closing their sockets. */
  shutdown_timeout_ms: z.number().int().positive().default(30_000),
  /** How long start-up waits for a local Ollama to answer. */
  ollama_probe_ms: z.number().int().positive().default(300),
  demo: DemoOptionsSchema.prefault({}),
});

/** Later `models:` entries with the key of an earlier one would silently replace it. */
const UniqueModelsSchema = z.array(ModelOverrideSchema).superRefine((models, ctx) => {
  const first = new Map<string, number>();
  models.forEach((m, i) => {
    const earlier = first.get(m.key);
    if (earlier === undefined) first.set(m.key, i);
    else ctx.addIssue({ code: 'custom', path: [i, 'key'], message: `duplicate of models[${earlier}]` });
  });
});

/** Rules whose regexes compile: every bad one is listed with the file's other problems. */
const FileRuleSchema = RuleSchema.extend({ when: RuleSchema.shape.when.extend({ prompt_matches: PromptPatternSchema.optional() }) });
const FileRoutingSchema = RoutingConfigSchema.extend({ rules: z.array(FileRuleSchema).default([]) });

export const ServerConfigSchema = CoreConfigSchema.extend({
  models: UniqueModelsSchema.default([]),
  routing: FileRoutingSchema.prefault({}),
  server: ServerSectionSchema.prefault({}),
  /** Webhook flows by name (see src/webhooks/config.ts). */
  flows: FlowsSchema,
  webhooks: WebhooksSectionSchema.prefault({}),
});

export type DemoOptions = z.infer<typeof DemoOptionsSchema>;
export type ServerSection = z.infer<typeof ServerSectionSchema>;
export type ServerConfig = z.infer<typeof ServerConfigSchema>;
export type ServerConfigInput = z.input<typeof ServerConfigSchema>;

type Env = Record<string, string | undefined>;

/** A configuration that cannot be used; `problems` lists every one as `path: message`. */
export class ConfigError extends Error {
  constructor(
    readonly source: string,
    readonly problems: string[],
  ) {
    super(`invalid configuration (${source}):\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'ConfigError';
  }
}

export const DEFAULT_CONFIG_FILES = ['switchyard.yaml', 'switchyard.yml', 'switchyard.json'];

/** `--config`, then SWITCHYARD_CONFIG, then the first default file present in `cwd`. */
export function findConfigFile(explicit: string | undefined, env: Env, cwd = process.cwd()): string | undefined {
  const named = explicit ?? env.SWITCHYARD_CONFIG;
  if (named) return resolve(cwd, named);
  return DEFAULT_CONFIG_FILES.map((f) => resolve(cwd, f)).find((f) => existsSync(f));
}

const ENV_REF = /\$\$\{|\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}/g;

/**
 * Replaces `${NAME}` (or `${NAME:-default}`) in every string of the parsed file; `$${` is a
 * literal `${`. A reference to an unset variable is a problem at that path.
 */
export function interpolateEnv(value: unknown, env: Env, problems: string[], path: PropertyKey[] = []): unknown {
  if (typeof value === 'string') {
    return value.replace(ENV_REF, (match: string, name?: string, fallback?: string) => {
      if (match === '$${') return '${';
      const v = env[name as string];
      if (v !== undefined && v !== '') return v;
      if (fallback !== undefined) return fallback;
      problems.push(`${formatPath(path) || '(root)'}: environment variable ${name} is not set`);
      return '';
    });
  }
  if (Array.isArray(value)) return value.map((v, i) => interpolateEnv(v, env, problems, [...path, i]));
  if (value && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) out[k] = interpolateEnv(v, env, problems, [...path, k]);
    return out;
  }
  return value;
}

function parseFileText(file: string, text: string, problems: string[]): unknown {
  if (extname(file).toLowerCase() === '.json') {
    try {
      return JSON.parse(text) as unknown;
    } catch (err) {
      problems.push(`(file): invalid JSON: ${(err as Error).message}`);
      return undefined;
    }
  }
  const doc = parseDocument(text);
  // One mistake cascades into several parser errors on the same line: report each line once.
  const lines = new Set<number | undefined>();
  for (const e of doc.errors) {
    const line = e.linePos?.[0]?.line;
    if (lines.has(line)) continue;
    lines.add(line);
    problems.push(`(file): invalid YAML at line ${line ?? '?'}: ${e.message.split('\n')[0]}`);
  }
  return doc.errors.length > 0 ? undefined : (doc.toJS() as unknown);
}

/** A YAML section whose entries are all commented out (`models:` and nothing) is absent, not null. */
function withoutEmptySections(value: unknown): unknown {
  if (!value || typeof value !== 'object' || Array.isArray(value)) return value;
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== null));
}

const EMPTY_SECTIONS: Record<string, () => unknown> = { object: () => ({}), record: () => ({}), array: () => [] };

/**
 * The same for nested sections (`server:` / `  demo:`): a null where the schema wants an object,
 * record or list becomes an empty one, so its defaults apply. Scalars stay null (and invalid).
 * Returns whether anything was replaced.
 */
function fillEmptySections(value: unknown, issues: readonly z.core.$ZodIssue[]): boolean {
  let filled = false;
  for (const issue of issues) {
    const empty = issue.code === 'invalid_type' ? EMPTY_SECTIONS[issue.expected] : undefined;
    if (!empty || issue.path.length === 0) continue;
    let parent = value as Record<PropertyKey, unknown> | null | undefined;
    for (const key of issue.path.slice(0, -1)) parent = parent?.[key] as Record<PropertyKey, unknown> | null | undefined;
    const last = issue.path[issue.path.length - 1] as PropertyKey;
    if (parent && typeof parent === 'object' && parent[last] === null) {
      parent[last] = empty();
      filled = true;
    }
  }
  return filled;
}

/** True while the sections a check reads have no issues but custom ones (a bad regex, a duplicate key), which leave the parsed value whole. */
function sectionsParsed(sections: string[]) {
  return (payload: z.core.ParsePayload): boolean => payload.issues.every((issue) => issue.code === 'custom' || !sections.includes(String(issue.path?.[0])));
}

function addIssues(ctx: z.RefinementCtx, issues: ReferenceIssue[]): void {
  for (const issue of issues) ctx.addIssue({ code: 'custom', ...issue });
}

/**
 * The schema plus what needs the environment: names that nothing defines (see config-references.ts)
 * and provider URLs taken from `<NAME>_BASE_URL`, which `envProblems` collects (they have no path in
 * the file). Each check runs once the sections it reads parsed, whatever else is wrong, so an invalid
 * file lists all of its problems together.
 */
function schemaWithReferences(env: Env, envProblems: string[]) {
  const core = ['providers', 'models', 'routing'];
  return ServerConfigSchema.superRefine((config) => void envProblems.push(...providerUrlProblems(config, env)), { when: sectionsParsed(['providers']) })
    .superRefine((config, ctx) => addIssues(ctx, referenceIssues(config, env)), { when: sectionsParsed(core) })
    .superRefine((config, ctx) => addIssues(ctx, flowReferenceIssues(config, env)), { when: sectionsParsed([...core, 'flows']) });
}

function issueText(issue: z.core.$ZodIssue): string {
  // A bad record key: zod's own message ("Invalid key in record") hides the key schema's.
  const message = issue.code === 'invalid_key' ? issue.issues.map((i) => i.message).join('; ') : issue.message;
  return `${formatPath(issue.path) || '(root)'}: ${message}`;
}

/** Validates raw (already parsed) configuration; throws ConfigError listing every problem. */
export function parseServerConfig(raw: unknown, env: Env = process.env, source = 'configuration'): ServerConfig {
  const problems: string[] = [];
  const value = withoutEmptySections(interpolateEnv(raw ?? {}, env, problems));
  for (;;) {
    const envProblems: string[] = [];
    const result = schemaWithReferences(env, envProblems).safeParse(value);
    if (!result.success && fillEmptySections(value, result.error.issues)) continue;
    problems.push(...(result.error?.issues.map(issueText) ?? []), ...envProblems);
    if (problems.length > 0 || !result.success) throw new ConfigError(source, problems);
    return result.data;
  }
}

export interface LoadConfigOptions {
  /**
   * `--config` flag. loadServerConfig fills it in with the file it found (SWITCHYARD_CONFIG, ./switchyard.yaml),
   * so loading again with the same options (a reload) reads that file, and reports it gone, instead of
   * quietly falling back to defaults.
   */
  file?: string;
  env?: Env;
  cwd?: string;
  /** Command-line overrides (win over the environment and the file); `--port` text is validated here, as PORT is. */
  port?: number | string;
  host?: string;
}

export interface LoadedConfig {
  config: ServerConfig;
  /** The file read, or undefined when running on defaults. */
  file?: string;
}

/**
 * Reads and validates the server configuration. Precedence for port and host:
 * command line, then PORT / HOST, then the file, then defaults.
 */
export function loadServerConfig(opts: LoadConfigOptions = {}): LoadedConfig {
  const env = opts.env ?? process.env;
  const file = findConfigFile(opts.file, env, opts.cwd);
  opts.file ??= file;
  let raw: unknown = {};
  if (file) {
    const problems: string[] = [];
    raw = parseFileText(file, readConfigFile(file), problems);
    if (problems.length > 0) throw new ConfigError(file, problems);
  }
  const config = parseServerConfig(raw, env, file ?? 'defaults');
  applyListenOverrides(config, env, opts);
  return { config, file };
}

function readConfigFile(file: string): string {
  const stat = statSync(file, { throwIfNoEntry: false });
  if (!stat) throw new ConfigError(file, ['(file): not found']);
  if (stat.isDirectory()) throw new ConfigError(file, ['(file): is a directory, not a configuration file']);
  try {
    return readFileSync(file, 'utf8');
  } catch (err) {
    throw new ConfigError(file, [`(file): cannot be read: ${(err as Error).message}`]);
  }
}

const PORT_TEXT = /^\d{1,5}$/;

/** `--port` beats PORT; `--host` beats HOST. Set but empty is a mistake, not "use the default". */
function applyListenOverrides(config: ServerConfig, env: Env, opts: LoadConfigOptions): void {
  const portFrom = opts.port !== undefined ? '--port' : env.PORT !== undefined ? 'PORT' : undefined;
  if (portFrom) {
    const text = String(opts.port ?? env.PORT);
    const port = PORT_TEXT.test(text) ? Number(text) : Number.NaN;
    if (!(port <= 65_535)) throw new ConfigError(portFrom, [`server.port: '${text}' is not a port number (0-65535)`]);
    config.server.port = port;
  }
  const hostFrom = opts.host !== undefined ? '--host' : env.HOST !== undefined ? 'HOST' : undefined;
  if (hostFrom) {
    const host = String(opts.host ?? env.HOST);
    if (host.trim() === '') throw new ConfigError(hostFrom, ['server.host: must not be empty']);
    config.server.host = host;
  }
}
