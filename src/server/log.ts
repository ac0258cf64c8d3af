import { writeSync } from 'node:fs';
import { redactSecrets } from '../core/errors';

export const LOG_LEVELS = ['debug', 'info', 'warn', 'error', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

const RANK: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40, silent: 100 };

export type LogFields = Record<string, unknown>;

export interface Logger {
  debug(msg: string, fields?: LogFields): void;
  info(msg: string, fields?: LogFields): void;
  warn(msg: string, fields?: LogFields): void;
  error(msg: string, fields?: LogFields): void;
  enabled(level: LogLevel): boolean;
}

export interface LoggerOptions {
  level?: LogLevel;
  /** Where JSON lines go; stdout by default. */
  write?: (line: string) => void;
  now?: () => number;
}

/**
 * Lines written within one turn of the event loop leave in a single write to stdout: under load
 * that is one syscall per turn instead of one per request. Anything pending is written
 * synchronously when the process exits.
 */
export function bufferedStdout(): (line: string) => void {
  let pending = '';
  let scheduled = false;
  const flush = () => {
    scheduled = false;
    const text = pending;
    pending = '';
    if (text) process.stdout.write(text);
  };
  process.once('exit', () => {
    if (pending) writeSync(1, pending);
    pending = '';
  });
  return (line) => {
    pending += line;
    if (pending.length > 65_536) flush();
    else if (!scheduled) {
      scheduled = true;
      setImmediate(flush);
    }
  };
}

let sharedStdout: ((line: string) => void) | undefined;

/** Errors become their name and message only: no stack traces in log lines. */
function plain(fields: LogFields | undefined): LogFields | undefined {
  if (!fields) return undefined;
  let out: LogFields | undefined;
  for (const key in fields) {
    const value = fields[key];
    if (value instanceof Error) {
      out ??= { ...fields };
      out[key] = { name: value.name, message: value.message };
    }
  }
  return out ?? fields;
}

/**
 * One JSON object per line (time, level, msg, fields). Every line passes through
 * redactSecrets, so a key echoed in an upstream message never reaches the log.
 */
export function createLogger(opts: LoggerOptions = {}): Logger {
  const min = RANK[opts.level ?? 'info'];
  const write = opts.write ?? (sharedStdout ??= bufferedStdout());
  const now = opts.now ?? Date.now;
  const log = (level: LogLevel, msg: string, fields?: LogFields) => {
    if (RANK[level] < min) return;
    const line = JSON.stringify({ time: new Date(now()).toISOString(), level, msg, ...plain(fields) });
    write(`${redactSecrets(line)}\n`);
  };
  return {
    debug: (msg, fields) => log('debug', msg, fields),
    info: (msg, fields) => log('info', msg, fields),
    warn: (msg, fields) => log('warn', msg, fields),
    error: (msg, fields) => log('error', msg, fields),
    enabled: (level) => RANK[level] >= min,
  };
}

/** A logger that drops everything (tests, library use). */
export const silentLogger: Logger = createLogger({ level: 'silent', write: () => undefined });
