import type { Bundle, ZObject } from 'zapier-platform-core';
import { connectionFrom, type Connection } from './auth-data';
import { createDirectBackend } from './backends/direct';
import { createGatewayBackend } from './backends/gateway';
import type { Backend } from './backends/types';
import { secretsOf, toZapierError } from './errors';
import { Deadline, STEP_DEADLINE_MS } from './limits';

export interface StepContext {
  connection: Connection;
  backend: Backend;
  /** Shared by every call of the step, so fallbacks and repairs together stay within Zapier's limit. */
  deadline: Deadline;
}

export function backendFor(z: ZObject, connection: Connection): Backend {
  return connection.mode === 'direct' ? createDirectBackend(connection) : createGatewayBackend(z, connection);
}

/**
 * Runs one step: validates the connection, opens the backend, and turns every failure into a
 * Zapier error whose message names what to change and carries no secret.
 */
export async function runStep<T>(z: ZObject, bundle: Bundle, run: (ctx: StepContext) => Promise<T>): Promise<T> {
  const deadline = new Deadline(STEP_DEADLINE_MS);
  const secrets = secretsOf(bundle.authData);
  let backend: Backend | undefined;
  try {
    const connection = connectionFrom(bundle.authData);
    backend = backendFor(z, connection);
    return await run({ connection, backend, deadline });
  } catch (err) {
    throw toZapierError(z, err, secrets);
  } finally {
    await backend?.close().catch(() => undefined);
  }
}
