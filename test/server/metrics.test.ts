import { Metrics } from '../../src/server/metrics';

const count = (text: string, line: string) => Number(text.split('\n').find((l) => l.startsWith(line))?.slice(line.length + 1));

describe('Metrics', () => {
  it('counter increments add up between scrapes and each reaches /metrics exactly once', async () => {
    const metrics = new Metrics({ defaultMetrics: false });
    const line = 'switchyard_http_requests_total{route="/healthz",status="200"}';
    metrics.httpRequest('/healthz', 200);
    metrics.httpRequest('/healthz', 200);
    expect(count((await metrics.render()).body, line)).toBe(2);
    metrics.httpRequest('/healthz', 200);
    expect(count((await metrics.render()).body, line)).toBe(3);
    expect(count((await metrics.render()).body, line)).toBe(3);
  });
});
