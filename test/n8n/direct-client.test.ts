/**
 * Direct mode's client and chat model over the embedded core (its bundle entry, core/switchyard-core.ts,
 * stands in for dist/vendor/switchyard-core.js): what the user reads when a provider echoes the key back.
 */
import nock from 'nock';
import { switchyardClient } from '../../connectors/n8n/nodes/shared/client';
import { createEmbeddedSwitchyard } from '../../connectors/n8n/core/switchyard-core';
import { SwitchyardEmbeddedChatModel } from '../../connectors/n8n/nodes/SwitchyardChatModel/embeddedModel';
import { closeUpstreamPools } from '../../src/core/http';
import { fixtureJson } from '../helpers/fixtures';

// The node loads the bundle lazily from vendor/; in the repository the bundle's entry is the source.
jest.mock('../../connectors/n8n/vendor/switchyard-core.js', () => jest.requireActual('../../connectors/n8n/core/switchyard-core'), { virtual: true });

type Ctx = Parameters<typeof switchyardClient>[0];

const OPENAI = 'https://openai.emulator.test/v1';
/** A key without a well-known prefix (a proxy's, or a self-hosted server's): only exact masking hides it. */
const PLAIN_KEY = 'abcdEFGH1234';
const CREDENTIAL = { mode: 'direct' as const, openaiApiKey: ` ${PLAIN_KEY} `, openaiBaseUrl: OPENAI };
const NODE = { id: 'node-1', name: 'Switchyard', type: 'n8n-nodes-switchyard.switchyard', typeVersion: 1, position: [0, 0], parameters: {} };

/** OpenAI's documented 401, echoing the key as OpenAI does ("Incorrect API key provided: ..."). */
function echoingRejection() {
  const body = fixtureJson<{ error: Record<string, unknown> }>('openai/error-401.json');
  return { error: { ...body.error, message: `Incorrect API key provided: ${PLAIN_KEY}. You can find your API key at https://platform.openai.com/account/api-keys.` } };
}

beforeAll(() => nock.disableNetConnect());
afterEach(() => nock.cleanAll());
afterAll(async () => {
  nock.enableNetConnect();
  await closeUpstreamPools();
});

async function failure(promise: Promise<unknown>): Promise<Error & { description?: string }> {
  try {
    await promise;
  } catch (err) {
    return err as Error & { description?: string };
  }
  throw new Error('expected the call to fail');
}

/** Every text the user can see of an error: message, description, and what n8n keeps of the response. */
function visible(err: unknown): string {
  const e = err as Error & { description?: string };
  return JSON.stringify({ ...e, message: e.message, description: e.description, stack: e.stack });
}

describe('Direct mode: a provider key echoed in an upstream error', () => {
  it('the Switchyard node masks the exact key and still names the credential field to fix', async () => {
    nock(OPENAI).post('/chat/completions').times(3).reply(401, echoingRejection());
    const ctx = { getNode: () => NODE, getCredentials: async () => CREDENTIAL } as unknown as Ctx;
    const client = await switchyardClient(ctx);
    try {
      const err = await failure(client.chat({ model: 'openai/gpt-4.1-mini', messages: [{ role: 'user', content: 'Hi' }] }));
      expect(err.message).toMatch(/^Switchyard: openai: .*Incorrect API key provided: \[redacted\]/);
      expect(err.description).toBe("The provider rejected its key: check 'OpenAI API Key' in the Switchyard API credential.");
      expect(visible(err)).not.toContain(PLAIN_KEY);
    } finally {
      await client.close();
    }
  });

  it('the chat model masks it in what the AI Agent shows, answered or streamed', async () => {
    nock(OPENAI).post('/chat/completions').times(6).reply(401, echoingRejection());
    const core = createEmbeddedSwitchyard({ apiKeys: { openai: PLAIN_KEY }, baseUrls: { openai: OPENAI } });
    const model = new SwitchyardEmbeddedChatModel(core, 'openai/gpt-4.1-mini', {}, [PLAIN_KEY]);
    const messages = [{ role: 'user' as const, content: [{ type: 'text' as const, text: 'Hi' }] }];
    try {
      const generated = await model.generate(messages).catch((e: unknown) => e);
      expect((generated as Error).message).toMatch(/Incorrect API key provided: \[redacted\]/);
      expect(visible(generated)).not.toContain(PLAIN_KEY);
      const streamed = await (async () => {
        for await (const chunk of model.stream(messages)) void chunk;
      })().catch((e: unknown) => e);
      expect((streamed as Error).message).toMatch(/Incorrect API key provided: \[redacted\]/);
      expect(visible(streamed)).not.toContain(PLAIN_KEY);
    } finally {
      await core.close();
    }
  });
});
