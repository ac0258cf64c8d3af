import { OpenAIAdapter } from '../../src/providers/openai';
import { startEmulator, stopEmulator, type Emulator } from '../helpers/emulator';

/**
 * Backpressure needs real sockets end to end: nock's pass-through socket (active in any test file
 * that imports it, e.g. through test/helpers/fixtures) keeps reading whatever the client does.
 */
const TOTAL = 8_000;
// 64 MB in all: more than the kernel buffers of both ends of a loopback connection (tcp_rmem max is often 32 MB).
const PADDING = 'x'.repeat(8_000);
const chunk = (content: string, finish: string | null) =>
  `data: {"id":"x","object":"chat.completion.chunk","created":1,"model":"m","choices":[{"index":0,"delta":{"content":"${content}"},"finish_reason":${finish === null ? 'null' : `"${finish}"`}}]}\n\n`;

let emulator: Emulator;
let written = 0;

beforeAll(async () => {
  emulator = await startEmulator((_req, res) => {
    res.writeHead(200, { 'content-type': 'text/event-stream' });
    const write = () => {
      while (written < TOTAL) {
        const event = chunk(`${written} ${PADDING}`, null);
        written++;
        if (!res.write(event)) return void res.once('drain', write);
      }
      res.end(`${chunk('', 'stop')}data: [DONE]\n\n`);
    };
    write();
  });
});

afterAll(() => stopEmulator(emulator));

it('holds a long stream back while its reader is busy and loses nothing', async () => {
  const adapter = new OpenAIAdapter();
  const stream = adapter.stream({ model: 'm', messages: [{ role: 'user', content: 'Hi' }] }, { credentials: { baseUrl: emulator.baseUrl } })[Symbol.asyncIterator]();
  expect((await stream.next()).value?.choices[0]?.delta.content).toMatch(/^0 /);
  // The reader stops for a while: the upstream must wait for it instead of filling the gateway's memory.
  await new Promise((r) => setTimeout(r, 300));
  expect(written).toBeLessThan(TOTAL);
  let next = 1;
  for (let r = await stream.next(); !r.done; r = await stream.next()) {
    const content = r.value.choices[0]?.delta.content;
    if (content) expect(content.startsWith(`${next++} `)).toBe(true);
  }
  expect(next).toBe(TOTAL);
});
