/**
 * Switchyard's routing core, as a library: `createSwitchyard(config)` and what its callers need
 * (schemas to validate input, errors to answer with, and the types of plans and stories).
 */
export { createSwitchyard } from './core/routing/switchyard';
export type { FailedCall, RoutingSwitchyard, SwitchyardDeps, SwitchyardEvents } from './core/routing/switchyard';
export type { Switchyard } from './core/gateway';

export {
  CacheConfigSchema,
  CircuitConfigSchema,
  CoreConfigSchema,
  ModelOverrideSchema,
  ProviderConfigSchema,
  ProviderLimitsSchema,
  RoutingConfigSchema,
  RuleSchema,
} from './core/config';
export type { CacheConfig, CoreConfig, CoreConfigInput, ModelOverride, ProviderConfig, ProviderLimits, RoutingConfig, Rule } from './core/config';

export { ChatChunkSchema, ChatRequestSchema, ChatResponseSchema, MessageSchema, UsageSchema } from './core/schema';
export type { ChatChunk, ChatMessage, ChatRequest, ChatResponse, Usage } from './core/schema';

export { RoutedChatRequestSchema, RoutingOptionsSchema } from './core/routing/types';
export type {
  Attempt,
  CallOptions,
  Catalog,
  CatalogModel,
  HealthView,
  ModelPricing,
  Plan,
  RouteStory,
  RoutedChatRequest,
  RoutedCompletion,
  RoutedStream,
  RoutingOptions,
} from './core/routing/types';
export type { CircuitState, CircuitTransition, HealthSnapshot } from './core/routing/health';
export type { LimiterStoreOptions } from './core/routing/limits';

export { GatewayError, ProviderError, gatewayErrorFromProvider, redactSecrets, validationError } from './core/errors';
export type { ErrorKind, OpenAIErrorBody } from './core/errors';

export type { CallContext, ProviderAdapter, ProviderCredentials } from './core/adapter';
export type { ProviderRuntime } from './providers/registry';
export { closeUpstreamPools } from './core/http';
export { VirtualClock, mathRandom, seededRandom, systemClock } from './core/clock';
export type { Clock, Random } from './core/clock';
export { costUsd } from './core/routing/cost';

// Ready-made tasks: structured output with one repair call, extraction, classification, summaries.
export * from './core/tasks';
