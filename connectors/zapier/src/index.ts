import zapier, { defineApp } from 'zapier-platform-core';
import packageJson from '../package.json';
import { addGatewayKey, authentication } from './authentication';
import { gatewayErrorMiddleware } from './backends/gateway';
import { classifyText } from './creates/classify-text';
import { extractData } from './creates/extract-data';
import { generateText } from './creates/generate-text';
import { summarize } from './creates/summarize';
import { budgetAlert } from './triggers/budget-alert';
import { models } from './triggers/models';

export default defineApp({
  version: packageJson.version,
  platformVersion: zapier.version,
  authentication,
  beforeRequest: [addGatewayKey],
  afterResponse: [gatewayErrorMiddleware],
  triggers: {
    models,
    budget_alert: budgetAlert,
  },
  creates: {
    generate_text: generateText,
    extract_data: extractData,
    classify_text: classifyText,
    summarize,
  },
});
