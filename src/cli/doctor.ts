import { existsSync } from 'node:fs';
import type { Command } from 'commander';
import { redactSecrets } from '../core/errors';
import { COMPATIBLE_PRESETS } from '../providers/openai-compatible';
import { NATIVE_FAMILIES, type ProviderRuntime } from '../providers/registry';
import { ConfigError, loadServerConfig, type ServerConfig } from '../server/config';
import { openStore, resolveStorePath } from '../server/store';
import { buildSwitchyard } from '../server/switchyard-factory';
import type { CliIo } from './io';
import { fail } from './store-cli';

interface DoctorFlags {
  config?: string;
  timeout: string;
}

/** Every environment variable that holds a provider key, in a stable order. */
export function providerKeyVars(): string[] {
  const vars = [...Object.values(NATIVE_FAMILIES).flatMap((f) => f.apiKeyEnv), ...Object.values(COMPATIBLE_PRESETS).flatMap((p) => p.apiKeyEnv)];
  return [...new Set(vars)];
}

/** Calls the provider's model listing with a short timeout; never throws. */
export async function checkReachable(runtime: ProviderRuntime, timeoutMs: number): Promise<{ ok: boolean; detail: string }> {
  if (!runtime.adapter.listModels) return { ok: true, detail: 'no model listing to check against' };
  const started = Date.now();
  try {
    const models = await runtime.adapter.listModels({
      credentials: runtime.credentials,
      deadline: Date.now() + timeoutMs,
      timeouts: { connectMs: timeoutMs, firstByteMs: timeoutMs, totalMs: timeoutMs },
    });
    return { ok: true, detail: `${models.length} model(s) listed in ${Date.now() - started} ms` };
  } catch (err) {
    return { ok: false, detail: redactSecrets((err as Error).message) };
  }
}

function keyLines(config: ServerConfig, env: CliIo['env']): string[] {
  const lines = providerKeyVars().map((name) => `  ${name.padEnd(22)} ${env[name] ? 'set' : 'not set'}`);
  for (const [name, p] of Object.entries(config.providers)) {
    if (p.api_key) lines.push(`  ${`providers.${name}`.padEnd(22)} key set in the configuration`);
  }
  return lines;
}

/** Node timers hold at most 2^31 - 1 ms; a longer delay fires at once. */
const MAX_TIMEOUT_MS = 2_147_483_647;

/** `--timeout`: whole milliseconds, 1 up to the longest timer Node supports. */
function parseTimeout(cmd: Command, text: string): number {
  const ms = /^\d+$/.test(text.trim()) ? Number(text) : Number.NaN;
  if (ms >= 1 && ms <= MAX_TIMEOUT_MS) return ms;
  return fail(cmd, `--timeout: must be a positive integer number of milliseconds (1 to ${MAX_TIMEOUT_MS}), got '${text}'`);
}

/** `switchyard doctor`: configuration, which keys are present (never their values), reachability, store. */
export function registerDoctorCommand(program: Command, io: CliIo): Command {
  return program
    .command('doctor')
    .description('check the configuration, provider keys (presence only) and upstream reachability')
    .option('-c, --config <file>', 'configuration file')
    .option('--timeout <ms>', 'per-provider reachability timeout in milliseconds (a positive integer)', '3000')
    .action(async (flags: DoctorFlags, cmd: Command) => {
      const timeout = parseTimeout(cmd, flags.timeout);
      let healthy = true;
      let config: ServerConfig;
      try {
        const loaded = loadServerConfig({ file: flags.config, env: io.env, cwd: io.cwd });
        config = loaded.config;
        io.out(`config: ok (${loaded.file ?? 'no file: defaults'})`);
      } catch (err) {
        if (!(err instanceof ConfigError)) throw err;
        io.out(`config: INVALID ${err.message}`);
        process.exitCode = 1;
        return;
      }
      io.out('provider keys (values are never shown):');
      for (const line of keyLines(config, io.env)) io.out(line);
      let built;
      try {
        built = await buildSwitchyard(config, { env: io.env });
      } catch (err) {
        io.out(`providers: INVALID ${(err as Error).message}`);
        process.exitCode = 1;
        return;
      }
      try {
        io.out(`providers (${built.mode}${built.mode === 'configured' ? '' : ' mode'}), ${built.switchyard.models().length} routable model(s):`);
        for (const note of built.notes) io.out(`  note: ${note}`);
        const results = await Promise.all(built.runtimes.map(async (r) => ({ r, check: await checkReachable(r, timeout) })));
        for (const { r, check } of results) {
          healthy &&= check.ok;
          io.out(`  ${r.name.padEnd(14)} ${check.ok ? 'ok  ' : 'FAIL'}  ${check.detail}`);
        }
      } finally {
        await built.switchyard.close();
      }
      const storePath = resolveStorePath(undefined, config.server.store_path);
      if (!existsSync(storePath)) {
        io.out(`store: ${storePath}: not created yet (no gateway keys: the server listens on 127.0.0.1 only, without authentication)`);
        if (!healthy) process.exitCode = 1;
        return;
      }
      try {
        const store = openStore(storePath);
        const keys = store.keys.count();
        await store.close();
        io.out(`store: ${storePath}: ${keys} active gateway key(s)${keys === 0 ? ' (the server listens on 127.0.0.1 only, without authentication)' : ''}`);
      } catch (err) {
        healthy = false;
        io.out(`store: FAIL cannot open ${storePath}: ${(err as Error).message}`);
      }
      if (!healthy) process.exitCode = 1;
    });
}
