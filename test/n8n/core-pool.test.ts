/**
 * Direct mode keeps its embedded cores across executions (n8n runs every execution in the process
 * that loaded the node), so the Cache option and provider health carry over; idle cores close.
 */
import nock from 'nock';
import { closeDirectCores, switchyardClient } from '../../connectors/n8n/nodes/shared/client';
import { CorePool, settingsId } from '../../connectors/n8n/nodes/shared/corePool';
import type { DirectSettings, EmbeddedSwitchyard } from '../../connectors/n8n/vendor/switchyard-core';
import { closeUpstreamPools } from '../../src/core/http';
import { fixtureJson } from '../helpers/fixtures';

jest.mock('../../connectors/n8n/vendor/switchyard-core.js', () => jest.requireActual('../../connectors/n8n/core/switchyard-core'), { virtual: true });

const KEY = 'sk-proj-poolTestKey0000000000';
const SETTINGS: DirectSettings = { apiKeys: { openai: KEY }, baseUrls: {} };

/** A fake core that records whether it was closed. */
function fakeCore(): EmbeddedSwitchyard & { closed: boolean } {
  const core = {
    closed: false,
    chat: async () => {
      throw new Error('not used');
    },
    stream: async () => {
      throw new Error('not used');
    },
    models: () => [],
    close: async () => {
      core.closed = true;
    },
  };
  return core;
}

/** A clock the test moves by hand. */
function manualTime() {
  let now = 0;
  return {
    now: () => now,
    advance(ms: number) {
      now += ms;
    },
  };
}

describe('CorePool', () => {
  it('one core per Direct settings, shared by every lease, kept while in use', () => {
    const time = manualTime();
    const created: Array<ReturnType<typeof fakeCore>> = [];
    const pool = new CorePool({ create: () => created[created.push(fakeCore()) - 1]!, idleMs: 1000, now: time.now });
    const a = pool.acquire(SETTINGS);
    const b = pool.acquire({ apiKeys: { openai: KEY }, baseUrls: {} });
    const other = pool.acquire({ apiKeys: { openai: 'sk-proj-anotherKey000000000' }, baseUrls: {} });
    expect(a.core).toBe(b.core);
    expect(other.core).not.toBe(a.core);
    expect(created).toHaveLength(2);
    a.release();
    time.advance(5000);
    pool.acquire({ apiKeys: { openai: 'sk-proj-thirdKey0000000000000' }, baseUrls: {} }); // closes idle cores
    expect(created[0]!.closed).toBe(false); // b still holds it
    expect(pool.size).toBe(3);
  });

  it('closes a core nothing used for the idle period at the next acquire, and builds a new one', () => {
    const time = manualTime();
    const created: Array<ReturnType<typeof fakeCore>> = [];
    const pool = new CorePool({ create: () => created[created.push(fakeCore()) - 1]!, idleMs: 1000, now: time.now });
    pool.acquire(SETTINGS).release();
    time.advance(600);
    const again = pool.acquire(SETTINGS); // used again before it idled out
    expect(again.core).toBe(created[0]);
    again.release();
    again.release(); // a second release changes nothing
    time.advance(999); // idle for less than idleMs since its last use
    const third = pool.acquire(SETTINGS);
    expect(third.core).toBe(created[0]);
    third.release();
    time.advance(1000);
    const other = pool.acquire({ apiKeys: { openai: 'sk-proj-anotherKey000000000' }, baseUrls: {} });
    expect(created[0]!.closed).toBe(true); // closed by that acquire, though it asked for other settings
    expect(pool.size).toBe(1);
    other.release();
    expect(pool.acquire(SETTINGS).core).not.toBe(created[0]);
    expect(created).toHaveLength(3);
  });

  it('past maxCores the longest-idle unused core is closed', () => {
    const time = manualTime();
    const created: Array<ReturnType<typeof fakeCore>> = [];
    const pool = new CorePool({ create: () => created[created.push(fakeCore()) - 1]!, maxCores: 2, idleMs: 60_000, now: time.now });
    pool.acquire({ apiKeys: { openai: 'sk-a-000000' }, baseUrls: {} }).release();
    time.advance(10);
    pool.acquire({ apiKeys: { openai: 'sk-b-000000' }, baseUrls: {} }).release();
    pool.acquire({ apiKeys: { openai: 'sk-c-000000' }, baseUrls: {} });
    expect(created.map((c) => c.closed)).toEqual([true, false, false]);
    expect(pool.size).toBe(2);
  });

  it('is keyed by a hash of the settings: no provider key in any key of the pool', () => {
    const id = settingsId(SETTINGS);
    expect(id).toMatch(/^[0-9a-f]{64}$/);
    expect(id).not.toContain(KEY);
    expect(settingsId({ apiKeys: { openai: KEY }, baseUrls: {} })).toBe(id);
    expect(settingsId({ apiKeys: { openai: KEY }, baseUrls: { openai: 'http://127.0.0.1:1/v1' } })).not.toBe(id);
  });
});

describe('Direct mode client across executions', () => {
  const OPENAI = 'https://openai.pool.test/v1';
  const NODE = { id: 'node-1', name: 'Switchyard', type: 'n8n-nodes-switchyard.switchyard', typeVersion: 1, position: [0, 0], parameters: {} };
  const ctx = { getNode: () => NODE, getCredentials: async () => ({ mode: 'direct', openaiApiKey: KEY, openaiBaseUrl: OPENAI }) } as unknown as Parameters<typeof switchyardClient>[0];

  beforeAll(() => nock.disableNetConnect());
  afterAll(async () => {
    nock.cleanAll();
    nock.enableNetConnect();
    await closeDirectCores();
    await closeUpstreamPools();
  });

  it('with Cache on, a second execution is answered from the cache the first one filled (one upstream call)', async () => {
    const upstream = nock(OPENAI).post('/chat/completions').once().reply(200, fixtureJson('openai/chat-basic.json'));
    const body = { model: 'openai/gpt-4.1-mini', messages: [{ role: 'user' as const, content: 'Same question' }], routing: { cache: true } };
    const answers = [];
    for (let execution = 0; execution < 2; execution++) {
      // What Switchyard.execute() does each run: a client, its calls, then close().
      const client = await switchyardClient(ctx);
      try {
        answers.push(await client.chat(body));
      } finally {
        await client.close();
      }
    }
    upstream.done();
    expect(answers.map((a) => a.route.cached)).toEqual([false, true]);
    expect(answers[1]!.text).toBe(answers[0]!.text);
    expect(answers[1]!.route.cost_usd).toBe(0);
  });
});
