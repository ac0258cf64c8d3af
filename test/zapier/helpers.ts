import http from 'node:http';
import https from 'node:https';
import nock from 'nock';
import zapier from 'zapier-platform-core';
import App from '../../connectors/zapier/src/index';
import { fixtureJson } from '../helpers/fixtures';

export { App };
export const appTester = zapier.createAppTester(App);

/** Test keys shaped like real ones, so the tests prove they never leak into a message. */
export const KEYS = {
  openai: 'sk-proj-zapTestOpenAIKey0123456789',
  anthropic: 'sk-ant-api03-zapTestAnthropicKey0123456789',
  gemini: 'AIzaSyZapTestGeminiKey0123456789abcd',
  groq: 'gsk_zapTestGroqKey0123456789',
};

export const OPENAI = 'https://api.openai.com';
export const ANTHROPIC = 'https://api.anthropic.com';
export const GEMINI = 'https://generativelanguage.googleapis.com';

type OpenAIResponse = { model: string; choices: Array<{ message: { content: string | null } }> };
type AnthropicResponse = { model: string; content: Array<{ type: string; text: string }> };

/** OpenAI's documented chat completion (fixture), answering `content`. */
export function openaiAnswer(content: string, model = 'gpt-4.1-mini-2025-04-14'): OpenAIResponse {
  const body = fixtureJson<OpenAIResponse>('openai/chat-basic.json');
  body.model = model;
  body.choices[0]!.message.content = content;
  return body;
}

/** Anthropic's documented Messages response (fixture), answering `content`. */
export function anthropicAnswer(content: string, model = 'claude-haiku-4-5-20251001'): AnthropicResponse {
  const body = fixtureJson<AnthropicResponse>('anthropic/message-text.json');
  body.model = model;
  body.content = [{ type: 'text', text: content }];
  return body;
}

/** Every string a test bundle contains that must never reach an error message. */
export function expectNoSecret(text: string): void {
  for (const key of Object.values(KEYS)) expect(text).not.toContain(key);
  expect(text).not.toMatch(/sk-proj-|sk-ant-|AIza|gsk_|sk-sy-/);
}

/** Zapier's errors carry their payload as JSON in `message`. */
export function zapierErrorPayload(err: unknown): { name: string; message: string; code?: string; status?: number; delay?: number | null } {
  const e = err as Error;
  const payload = JSON.parse(e.message) as { message: string; code?: string; status?: number; delay?: number | null };
  return { name: e.name, ...payload };
}

export async function rejection(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (err) {
    return err;
  }
  throw new Error('expected the call to fail');
}

export function directAuth(keys: Partial<Record<keyof typeof KEYS, string>>): Record<string, string> {
  const auth: Record<string, string> = { mode: 'direct' };
  for (const [provider, key] of Object.entries(keys)) auth[`${provider}_api_key`] = key;
  return auth;
}

export function resetNetwork(): void {
  nock.cleanAll();
  nock.disableNetConnect();
  nock.enableNetConnect(/127\.0\.0\.1|localhost/);
}

type Patchable = { request: unknown; patchedByZapier?: boolean; zapierLogger?: unknown };

/**
 * Zapier's runtime patches `http.request` and `https.request` for its request log the first time
 * an app runs. Node's core modules are shared by every test file of a jest worker, so the patch is
 * undone after this file: other suites keep Node's own http.
 */
export function undoZapierHttpPatchAfterAll(): void {
  const modules = [http, https] as unknown as Patchable[];
  const originals = modules.map((m) => m.request);
  afterAll(() => {
    modules.forEach((m, i) => {
      m.request = originals[i];
      delete m.patchedByZapier;
      delete m.zapierLogger;
    });
  });
}
