/**
 * The routing core this app embeds (bundled into dist/ by scripts/bundle.mjs): the only place the
 * app reaches into the repository's src/, so the seam stays visible.
 */
export { createSwitchyard } from '../../../src/core/routing/switchyard';
export { resolveProviders } from '../../../src/providers/registry';
export { GatewayError, ProviderError, redactSecrets } from '../../../src/core/errors';
export { ChatResponseSchema, UsageSchema } from '../../../src/core/schema';
export { PreferSchema } from '../../../src/core/routing/types';
export type { RoutingSwitchyard } from '../../../src/core/routing/switchyard';
export type { CoreConfigInput, ProviderConfig } from '../../../src/core/config';
export type { ChatMessage, ChatResponse, ResponseFormat, Usage } from '../../../src/core/schema';
export type { Attempt, CatalogModel, Prefer, RoutedChatRequest, RouteStory } from '../../../src/core/routing/types';
export {
  LabelListSchema,
  SUMMARY_LENGTHS,
  SUMMARY_STYLES,
  SummaryLengthSchema,
  SummaryStyleSchema,
  classificationTask,
  extractionTask,
  runStructured,
  summaryRequest,
} from '../../../src/core/tasks';
export type { FieldDefinitionInput, StructuredSpec } from '../../../src/core/tasks';
