import * as facade from '../../connectors/n8n/core/switchyard-core';
import type { CatalogEntry } from '../../connectors/n8n/vendor/switchyard-core';
import { AUTO_MODELS, directModelOptions, gatewayModelOptions, priceText } from '../../connectors/n8n/nodes/shared/modelOptions';
import { AUTO_MODELS as SERVER_AUTO_MODELS } from '../../src/server/routes/models';

const AUTO_VALUES = ['auto', 'auto:cost', 'auto:latency', 'auto:quality', 'auto:balanced'];

function entry(id: string, over: Partial<CatalogEntry> = {}): CatalogEntry {
  return { id, provider: id.split('/')[0]!, context_window: 128_000, input_price: 1, output_price: 2, quality: 0.5, json_schema: true, tools: true, ...over };
}

describe('Model dropdown, Direct mode (embedded catalog)', () => {
  it('lists the Auto variants first, then the catalog sorted by id, each with its price, context and quality', () => {
    const options = directModelOptions([
      entry('openai/gpt-4.1-mini', { input_price: 0.4, output_price: 1.6, context_window: 1_047_576, quality: 0.7 }),
      entry('anthropic/claude-haiku-4-5', { input_price: 1, output_price: 5, context_window: 200_000, quality: 0.75 }),
      entry('ollama/llama3.2', { input_price: 0, output_price: 0, context_window: 8_192, quality: 0.3 }),
    ]);
    expect(options.map((o) => o.value)).toEqual([...AUTO_VALUES, 'anthropic/claude-haiku-4-5', 'ollama/llama3.2', 'openai/gpt-4.1-mini']);
    expect(options.slice(0, AUTO_VALUES.length)).toEqual(AUTO_MODELS);
    expect(options.slice(AUTO_VALUES.length)).toEqual([
      { name: 'anthropic/claude-haiku-4-5', value: 'anthropic/claude-haiku-4-5', description: '$1 in / $5 out per 1M tokens, 200k context, quality 0.75' },
      { name: 'ollama/llama3.2', value: 'ollama/llama3.2', description: 'free, 8k context, quality 0.3' },
      { name: 'openai/gpt-4.1-mini', value: 'openai/gpt-4.1-mini', description: '$0.4 in / $1.6 out per 1M tokens, 1048k context, quality 0.7' },
    ]);
  });

  it('prices with three significant digits, and says which side is free', () => {
    expect(priceText(0.15, 0.6)).toBe('$0.15 in / $0.6 out per 1M tokens');
    expect(priceText(1.23456, 10.0049)).toBe('$1.23 in / $10 out per 1M tokens');
    expect(priceText(0, 0.5)).toBe('free in / $0.5 out per 1M tokens');
    expect(priceText(0, 0)).toBe('free');
  });

  it('lists only the Auto variants when no provider is configured', () => {
    expect(directModelOptions([])).toEqual(AUTO_MODELS);
  });

  it('builds the dropdown from the real embedded catalog of a credential', async () => {
    const core = facade.createEmbeddedSwitchyard({ apiKeys: { openai: 'sk-test-n8n-123456' }, baseUrls: {} });
    try {
      const catalog = core.models();
      const options = directModelOptions(catalog);
      expect(options.map((o) => o.value).slice(0, AUTO_VALUES.length)).toEqual(AUTO_VALUES);
      expect(options).toHaveLength(catalog.length + AUTO_VALUES.length);
      const mini = catalog.find((m) => m.id === 'openai/gpt-4.1-mini')!;
      expect(options.find((o) => o.value === mini.id)?.description).toBe(
        `${priceText(mini.input_price, mini.output_price)}, ${Math.round(mini.context_window / 1000)}k context, quality ${mini.quality}`,
      );
      expect(options.slice(AUTO_VALUES.length).every((o) => o.value.startsWith('openai/') && /per 1M tokens|^free/.test(o.description ?? ''))).toBe(true);
    } finally {
      await core.close();
    }
  });
});

describe('Model dropdown, Gateway mode (server GET /v1/models)', () => {
  it("keeps the node's Auto variants in step with the ones the server lists", () => {
    expect(AUTO_MODELS.map((m) => m.value)).toEqual([...SERVER_AUTO_MODELS]);
  });

  it("lists the Auto variants once (not the server's auto* entries again), then the server's models sorted, with their owner", () => {
    const created = 1_760_000_000;
    const body = {
      object: 'list',
      data: [
        ...SERVER_AUTO_MODELS.map((id) => ({ id, object: 'model', created, owned_by: 'switchyard' })),
        { id: 'openai/gpt-4.1-mini', object: 'model', created, owned_by: 'openai' },
        { id: 'anthropic/claude-haiku-4-5', object: 'model', created, owned_by: 'anthropic' },
        { id: 'local-model', object: 'model', created },
      ],
    };
    expect(gatewayModelOptions(body)).toEqual([
      ...AUTO_MODELS,
      { name: 'anthropic/claude-haiku-4-5', value: 'anthropic/claude-haiku-4-5', description: 'by anthropic' },
      { name: 'local-model', value: 'local-model' },
      { name: 'openai/gpt-4.1-mini', value: 'openai/gpt-4.1-mini', description: 'by openai' },
    ]);
  });

  it('drops entries without a usable id', () => {
    const body = { data: [null, {}, { id: 42 }, { id: '  ' }, { id: ['x'] }, { id: 'mistral/mistral-small', owned_by: 7 }] };
    expect(gatewayModelOptions(body)).toEqual([...AUTO_MODELS, { name: 'mistral/mistral-small', value: 'mistral/mistral-small' }]);
  });

  it('falls back to the Auto variants when the body is not a model list', () => {
    for (const body of [undefined, null, 'text', { data: 'nope' }, { object: 'list' }]) {
      expect(gatewayModelOptions(body)).toEqual(AUTO_MODELS);
    }
  });
});
