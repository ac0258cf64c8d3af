/**
 * What the Switchyard Chat Model (Direct mode) sends for the AI Agent's non-text message parts:
 * images go to the core as OpenAI image_url parts; a part the core cannot carry is a clear error,
 * never silently dropped.
 */
import { join } from 'node:path';
import nock from 'nock';
import { createEmbeddedSwitchyard } from '../../connectors/n8n/core/switchyard-core';
import { toOpenAIMessages, UnsupportedContentError, type GenericMessage } from '../../connectors/n8n/nodes/SwitchyardChatModel/conversions';
import { SwitchyardEmbeddedChatModel } from '../../connectors/n8n/nodes/SwitchyardChatModel/embeddedModel';
import { ChatRequestSchema } from '../../src/core/schema';
import { closeUpstreamPools } from '../../src/core/http';
import { fixtureJson } from '../helpers/fixtures';
import { PACKAGE_DIR } from './harness';

const OPENAI = 'https://openai.emulator.test/v1';
const KEY = 'sk-test-n8n-123456';
/** A 1x1 PNG. */
const PNG_BASE64 = 'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==';
const PNG_DATA_URL = `data:image/png;base64,${PNG_BASE64}`;

/** The SDK's LangChain -> n8n message conversion, as n8n runs it in front of the chat model. */
interface LangChainSide {
  HumanMessage: new (fields: { content: unknown[] }) => unknown;
  fromLcMessage: (message: unknown) => GenericMessage;
}
function langChainSide(): LangChainSide {
  const utilities = join(PACKAGE_DIR, 'node_modules', '@n8n', 'ai-utilities');
  const { fromLcMessage } = jest.requireActual<{ fromLcMessage: LangChainSide['fromLcMessage'] }>(utilities);
  const { HumanMessage } = jest.requireActual<{ HumanMessage: LangChainSide['HumanMessage'] }>(
    require.resolve('@langchain/core/messages', { paths: [utilities] }),
  );
  return { HumanMessage, fromLcMessage };
}

function userWith(...content: GenericMessage['content']): GenericMessage[] {
  return [{ role: 'user', content }];
}

function conversionError(messages: GenericMessage[]): Error {
  try {
    toOpenAIMessages(messages);
  } catch (error) {
    return error as Error;
  }
  throw new Error('expected the conversion to fail');
}

beforeAll(() => nock.disableNetConnect());
afterEach(() => nock.cleanAll());
afterAll(async () => {
  nock.enableNetConnect();
  await closeUpstreamPools();
});

describe('Chat Model message parts -> OpenAI content parts', () => {
  it('keeps text-only user messages as a plain string', () => {
    expect(toOpenAIMessages(userWith({ type: 'text', text: 'a' }, { type: 'text', text: 'b' }))).toEqual([{ role: 'user', content: 'a\nb' }]);
  });

  it('sends image files as image_url parts, in order with the text: base64, bytes, data: URL and http(s) URL', () => {
    const bytes = Uint8Array.from(Buffer.from(PNG_BASE64, 'base64'));
    const messages = userWith(
      { type: 'text', text: 'What is in these pictures?' },
      { type: 'file', mediaType: 'image/png', data: PNG_BASE64 },
      { type: 'file', mediaType: 'image/png', data: bytes },
      { type: 'file', data: PNG_DATA_URL },
      { type: 'file', providerMetadata: { url: 'https://example.com/cat.jpg' } },
    );
    const out = toOpenAIMessages(messages);
    expect(out).toEqual([
      {
        role: 'user',
        content: [
          { type: 'text', text: 'What is in these pictures?' },
          { type: 'image_url', image_url: { url: PNG_DATA_URL } },
          { type: 'image_url', image_url: { url: PNG_DATA_URL } },
          { type: 'image_url', image_url: { url: PNG_DATA_URL } },
          { type: 'image_url', image_url: { url: 'https://example.com/cat.jpg' } },
        ],
      },
    ]);
    // The core's own request schema accepts what the chat model builds.
    expect(ChatRequestSchema.safeParse({ model: 'auto', messages: out }).success).toBe(true);
  });

  it('refuses, by name, a file that is no image (a PDF the Agent passes through), instead of dropping it', () => {
    const pdf = conversionError(userWith({ type: 'text', text: 'Summarise' }, { type: 'file', mediaType: 'application/pdf', data: 'JVBERi0xLjQK' }));
    expect(pdf).toBeInstanceOf(UnsupportedContentError);
    expect(pdf.message).toMatch(/^Switchyard Chat Model cannot send a file \(application\/pdf\) in a user message: the model takes text, and images/);
    // The Agent's PDF passthrough arrives without a media type: still refused, not guessed.
    expect(conversionError(userWith({ type: 'file', data: 'JVBERi0xLjQK', providerMetadata: { filename: 'offer.pdf' } })).message).toMatch(
      /cannot send a file 'offer\.pdf' without an image media type in a user message/,
    );
    expect(conversionError(userWith({ type: 'file', data: 'data:application/pdf;base64,JVBERi0xLjQK' })).message).toMatch(/cannot send a file without an image media type/);
  });

  it('refuses parts the core cannot carry in other roles or of other types', () => {
    expect(conversionError([{ role: 'system', content: [{ type: 'file', mediaType: 'image/png', data: PNG_BASE64 }] }]).message).toMatch(
      /cannot send a file \(image\/png\) in a system message/,
    );
    expect(conversionError([{ role: 'assistant', content: [{ type: 'file', mediaType: 'image/png', data: PNG_BASE64 }] }]).message).toMatch(/in an? assistant message/);
    expect(conversionError(userWith({ type: 'provider', text: 'x' })).message).toMatch(/cannot send a 'provider' part in a user message/);
  });

  it('leaves out annotations of earlier answers (reasoning, citations), which no chat request carries', () => {
    const out = toOpenAIMessages([
      { role: 'assistant', content: [{ type: 'reasoning', text: 'thinking' }, { type: 'text', text: 'Hello' }, { type: 'citation', text: 'src' }] },
    ]);
    expect(out).toEqual([{ role: 'assistant', content: 'Hello' }]);
  });

  it("known limit (README): n8n's SDK drops OpenAI-style image_url blocks, the Agent's image passthrough, before any SDK chat model", () => {
    const { HumanMessage, fromLcMessage } = langChainSide();
    const human = fromLcMessage(new HumanMessage({ content: [{ type: 'text', text: 'hi' }, { type: 'image_url', image_url: { url: PNG_DATA_URL } }] }));
    // When this fails, the SDK hands such images over: drop the README's note (they then arrive as file parts).
    expect(human.content).toEqual([{ type: 'text', text: 'hi' }]);
  });

  it("an image from LangChain's standard blocks reaches the provider through the embedded core", async () => {
    const { HumanMessage, fromLcMessage } = langChainSide();
    const human = fromLcMessage(
      new HumanMessage({
        content: [
          { type: 'text', text: 'Describe it' },
          { type: 'image', data: PNG_BASE64, mimeType: 'image/png' },
          { type: 'image', url: 'https://example.com/cat.jpg' },
        ],
      }),
    );
    let sent: { messages?: unknown } = {};
    nock(OPENAI)
      .post('/chat/completions', (b: { messages?: unknown }) => ((sent = b), true))
      .reply(200, fixtureJson('openai/chat-basic.json'));
    const core = createEmbeddedSwitchyard({ apiKeys: { openai: KEY }, baseUrls: { openai: OPENAI } });
    try {
      const model = new SwitchyardEmbeddedChatModel(core, 'openai/gpt-4.1-mini', {}, [KEY]);
      const result = await model.generate([human as Parameters<typeof model.generate>[0][number]]);
      expect(result.finishReason).toBe('stop');
      expect(sent.messages).toEqual([
        {
          role: 'user',
          content: [
            { type: 'text', text: 'Describe it' },
            { type: 'image_url', image_url: { url: PNG_DATA_URL } },
            { type: 'image_url', image_url: { url: 'https://example.com/cat.jpg' } },
          ],
        },
      ]);
    } finally {
      await core.close();
    }
  });
});
