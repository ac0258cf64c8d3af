import { createSwitchyard, resolveProviders, GatewayError, ProviderError, type Attempt, type CoreConfigInput, type RoutingSwitchyard } from '../core';
import { directProviders, type DirectConnection } from '../auth-data';
import { providerTitle } from '../providers';
import { DIRECT_BACKOFF_MAX_MS, STEP_MAX_TTFT_MS, STEP_DEADLINE_MS, type Deadline } from '../limits';
import { StepError, authAdvice, timeoutAdvice } from '../errors';
import { answerText, attemptLog } from './outcome';
import { AUTO_MODELS, roundUsd, type Backend, type ChatOutcome } from './types';

/** Builds the embedded router; injectable so tests can observe what the app asks of it. */
export type SwitchyardFactory = (config: CoreConfigInput) => RoutingSwitchyard;

export const defaultSwitchyardFactory: SwitchyardFactory = (config) => createSwitchyard(config, { env: {} });

/**
 * Core config for a Direct connection: only the providers whose keys the user entered (the
 * environment of Zapier's runtime is never consulted), and a routing budget that fits a Zapier step.
 */
export function directConfig(conn: DirectConnection): CoreConfigInput {
  return {
    providers: directProviders(conn),
    routing: {
      deadline_ms: STEP_DEADLINE_MS,
      max_ttft_ms: STEP_MAX_TTFT_MS,
      backoff_max_ms: DIRECT_BACKOFF_MAX_MS,
      retries_per_model: 1,
    },
  };
}

export function createDirectBackend(conn: DirectConnection, factory: SwitchyardFactory = defaultSwitchyardFactory): Backend {
  const router = factory(directConfig(conn));
  return {
    async chat(request, deadline: Deadline): Promise<ChatOutcome> {
      const remaining = deadline.remainingMs();
      if (remaining <= 0) throw new StepError(timeoutAdvice('The step ran out of time before calling a model'), 'timeout', 504);
      let failed: Attempt[] = [];
      const stopListening = router.on('failure', (failure) => {
        failed = failure.attempts;
      });
      let routed;
      try {
        routed = await router.chat(request, { deadlineMs: remaining });
      } catch (err) {
        throw explainFailure(err, failed);
      } finally {
        stopListening();
      }
      const { response, story } = routed;
      return {
        ...answerText(response, story.model),
        model: story.model,
        provider: story.provider,
        costUsd: roundUsd(story.costUsd),
        latencyMs: Math.round(story.latencyMs),
        attempts: story.attempts.length,
        attemptLog: attemptLog(story.attempts.map((a) => ({ model: a.key, outcome: a.outcome, status: a.status, latencyMs: a.latencyMs }))),
        cached: story.cached,
        reason: story.reason,
        usage: response.usage ?? story.usage,
      };
    },
    async models() {
      const listed = router.models().map((m) => ({
        id: m.key,
        name: `${m.key} ($${m.pricing.input}/$${m.pricing.output} per 1M tokens in/out)`,
      }));
      return [...AUTO_MODELS, ...listed];
    },
    close: () => router.close(),
  };
}

/**
 * When keys were rejected, the attempts say which providers did it: the error then names every
 * connection field to fix, not only the last one tried.
 */
function explainFailure(err: unknown, attempts: readonly Attempt[]): unknown {
  if (!(err instanceof GatewayError) || err.code !== 'upstream_auth') return err;
  const providers = [...new Set(attempts.filter((a) => a.outcome === 'auth').map((a) => a.provider))];
  return providers.length > 0 ? authAdvice(providers, err.message) : err;
}

/** What the connection test learned about one provider key. */
export interface KeyCheck {
  provider: string;
  ok: boolean;
  models: number;
  problem?: string;
}

/**
 * Proves each entered key works by listing the provider's models (free, no tokens spent).
 * A rate-limited answer still proves the key was accepted.
 */
export async function checkDirectKeys(conn: DirectConnection, timeoutMs: number): Promise<KeyCheck[]> {
  const runtimes = resolveProviders({ providers: directProviders(conn) }, {});
  return Promise.all(
    runtimes.map(async (runtime): Promise<KeyCheck> => {
      try {
        const listed = runtime.adapter.listModels
          ? await runtime.adapter.listModels({ credentials: runtime.credentials, timeouts: { totalMs: timeoutMs, firstByteMs: timeoutMs } })
          : [];
        return { provider: runtime.name, ok: true, models: listed.length };
      } catch (err) {
        if (err instanceof ProviderError && err.kind === 'rate_limited') return { provider: runtime.name, ok: true, models: 0 };
        const reason =
          err instanceof ProviderError && err.kind === 'auth'
            ? `${providerTitle(runtime.name)} rejected the key (${err.status ?? 401})`
            : `could not be checked: ${err instanceof Error ? err.message : String(err)}`;
        return { provider: runtime.name, ok: false, models: 0, problem: reason };
      }
    }),
  );
}
