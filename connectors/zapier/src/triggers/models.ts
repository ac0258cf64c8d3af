import type { Bundle, Trigger, ZObject } from 'zapier-platform-core';
import { runStep } from '../step';

/** Hidden trigger behind every Model dropdown: the Auto variants, then each model the connection can reach. */
async function perform(z: ZObject, bundle: Bundle) {
  return runStep(z, bundle, ({ backend }) => backend.models());
}

export const models = {
  key: 'models',
  noun: 'Model',
  display: {
    label: 'List Models',
    description: 'Lists the models your connection can use, for the Model dropdowns.',
    hidden: true,
  },
  operation: {
    type: 'polling',
    perform,
    canPaginate: false,
    sample: { id: 'auto', name: 'Auto: balanced (cost, speed and quality)' },
    outputFields: [
      { key: 'id', label: 'Model ID', type: 'string' },
      { key: 'name', label: 'Model Name', type: 'string' },
    ],
  },
} satisfies Trigger;
