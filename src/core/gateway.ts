import type { CatalogModel, CallOptions, Plan, PlanOptions, RoutedChatRequest, RoutedCompletion, RoutedStream } from './routing/types';

/**
 * The routing core's public face: what the server, webhooks and connectors call.
 * Created by `createSwitchyard(config, deps)` in routing/switchyard.ts.
 */
export interface Switchyard {
  /** Routed non-streaming call: retries and fallback included; throws GatewayError when every candidate failed. */
  chat(request: RoutedChatRequest, options?: CallOptions): Promise<RoutedCompletion>;
  /**
   * Routed streaming call. Resolves once an upstream produced its first chunk (failures before
   * that fall back transparently); throws GatewayError when every candidate failed.
   */
  stream(request: RoutedChatRequest, options?: CallOptions): Promise<RoutedStream>;
  /** The dry-run decision for a request, with no upstream call. */
  plan(request: RoutedChatRequest, options?: PlanOptions): Plan;
  /** Every model in the catalog whose provider is configured. */
  models(): CatalogModel[];
  /** Stops timers and limiters; pending calls are aborted. */
  close(): Promise<void>;
}
