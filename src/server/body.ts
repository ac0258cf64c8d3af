import type { IncomingMessage } from 'node:http';
import type { NextFunction, Request, RequestHandler, Response } from 'express';
import { GatewayError } from '../core/errors';
import { MAX_JSON_DEPTH, nestsDeeperThan } from '../core/json-depth';

const UNITS: Record<string, number> = { b: 1, kb: 1024, mb: 1024 * 1024 };

/** "4mb" -> bytes (as in the config's body_limit); numbers are bytes already. */
export function parseByteSize(limit: string | number): number {
  if (typeof limit === 'number') return limit;
  const m = /^(\d+(?:\.\d+)?)\s*(b|kb|mb)$/i.exec(limit.trim());
  if (!m) throw new Error(`not a size: ${limit}`);
  return Math.floor(Number(m[1]) * UNITS[m[2]!.toLowerCase()]!);
}

function parseJsonText(text: string): unknown {
  if (text.trim() === '') return undefined;
  let value: unknown;
  try {
    value = JSON.parse(text) as unknown;
  } catch {
    throw new GatewayError(400, 'The request body is not valid JSON.', { code: 'invalid_json' });
  }
  if (nestsDeeperThan(value, MAX_JSON_DEPTH)) {
    throw new GatewayError(400, `The request body nests objects and arrays more than ${MAX_JSON_DEPTH} levels deep.`, { code: 'invalid_json' });
  }
  return value;
}

/**
 * Reads the body as UTF-8 JSON, whatever the content type (some no-code HTTP steps send
 * text/plain): 413 past the limit (checked on Content-Length first, then while reading),
 * 400 for malformed or too deeply nested JSON, 415 for compressed bodies. An empty body reads as
 * undefined. Leaner than body-parser on the hot path.
 */
export function jsonReader(limit: string | number): (req: IncomingMessage) => Promise<unknown> {
  const max = parseByteSize(limit);
  const tooLarge = () => new GatewayError(413, `The request body is larger than the limit of ${limit}.`, { code: 'request_too_large' });
  return (req) => new Promise((resolve, reject) => {
    const declared = req.headers['content-length'];
    if (declared !== undefined && Number(declared) > max) return reject(tooLarge());
    const encoding = req.headers['content-encoding'];
    if (encoding && encoding.toLowerCase() !== 'identity') {
      return reject(new GatewayError(415, `Content-Encoding '${encoding}' is not supported; send uncompressed UTF-8 JSON.`, { code: 'unsupported_encoding' }));
    }
    const parts: Buffer[] = [];
    let size = 0;
    let failed = false;
    req.on('data', (chunk: Buffer) => {
      if (failed) return;
      size += chunk.length;
      if (size > max) {
        failed = true;
        reject(tooLarge());
        return;
      }
      parts.push(chunk);
    });
    req.on('end', () => {
      if (failed) return;
      const text = parts.length === 1 ? parts[0]!.toString('utf8') : Buffer.concat(parts, size).toString('utf8');
      try {
        resolve(parseJsonText(text));
      } catch (err) {
        reject(err as Error);
      }
    });
    req.on('error', () => {
      if (failed) return;
      failed = true;
      reject(new GatewayError(400, 'The request body was not received completely.', { code: 'request_aborted' }));
    });
  });
}

/** jsonReader as express middleware: the value goes to `req.body`. */
export function jsonBody(limit: string | number): RequestHandler {
  const read = jsonReader(limit);
  return (req: Request, _res: Response, next: NextFunction) => {
    read(req).then((body) => {
      req.body = body;
      next();
    }, next);
  };
}
