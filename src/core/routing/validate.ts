import { validationError } from '../errors';
import { ObjectMark } from '../marks';
import { RoutedChatRequestSchema, type RoutedChatRequest } from './types';

/** Requests this module produced: chat(), stream() and plan() take them without validating again. */
const validated = new ObjectMark<true>();

/**
 * Validates a routed chat request (throws the 400 naming the field). The result is remembered, so
 * that a caller which validates first (the gateway server) does not pay for a second zod pass in
 * the routing core. Fields a caller sets afterwards must keep to the schema.
 */
export function parseRoutedRequest(input: unknown): RoutedChatRequest {
  const result = RoutedChatRequestSchema.safeParse(input);
  if (!result.success) throw validationError(result.error);
  validated.set(result.data, true);
  return result.data;
}

/** The request itself when parseRoutedRequest produced it, else its validated copy. */
export function validRoutedRequest(input: RoutedChatRequest): RoutedChatRequest {
  return validated.get(input) ? input : parseRoutedRequest(input);
}
