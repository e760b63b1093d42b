import { EventEmitter } from 'node:events';
import { Registry } from 'prom-client';
import type { AppConfig } from '../config/app-config';
import { LiveFeed } from '../live/live-feed.service';
import { StreamHub, StreamLimitReached, StreamResponse } from './stream-hub.service';

class FakeResponse extends EventEmitter implements StreamResponse {
  write(): boolean {
    return true;
  }
  end(): void {}
}

const config = (maxPerToken: number, maxTotal: number) =>
  ({ sse: { heartbeatS: 15, clientQueue: 10, maxPerToken, maxTotal } }) as AppConfig;

describe('StreamHub caps', () => {
  const hubs: StreamHub[] = [];
  const hub = (perToken: number, total: number, registry?: Registry) => {
    const h = new StreamHub(new LiveFeed(), config(perToken, total), registry);
    hubs.push(h);
    return h;
  };
  afterEach(() => {
    for (const h of hubs.splice(0)) h.onModuleDestroy();
  });

  const refusal = (fn: () => unknown): StreamLimitReached => {
    try {
      fn();
    } catch (err) {
      if (err instanceof StreamLimitReached) return err;
      throw err;
    }
    throw new Error('not refused');
  };

  it('refuses a token beyond its share with 429 and Retry-After, others still get in', () => {
    const h = hub(2, 10);
    h.open(new FakeResponse(), {}, 'a');
    h.open(new FakeResponse(), {}, 'a');
    const err = refusal(() => h.open(new FakeResponse(), {}, 'a'));
    expect(err.getStatus()).toBe(429);
    expect(err.retryAfterS).toBe(15);
    expect(err.getResponse()).toMatchObject({
      statusCode: 429,
      error: 'Too Many Requests',
      message: expect.stringContaining('SSE_MAX_PER_TOKEN'),
    });
    h.open(new FakeResponse(), {}, 'b');
    expect(h.stats()).toMatchObject({ clients: 3, refused: { per_token: 1, total: 0 } });
    expect(h.openBy('a')).toBe(2);
  });

  it('refuses anyone with 503 when the instance is full', () => {
    const h = hub(5, 3);
    for (const owner of ['a', 'b', 'c']) h.open(new FakeResponse(), {}, owner);
    const err = refusal(() => h.open(new FakeResponse(), {}, 'd'));
    expect(err.getStatus()).toBe(503);
    expect(err.getResponse()).toMatchObject({ message: expect.stringContaining('SSE_MAX_TOTAL') });
    expect(h.stats().refused).toEqual({ per_token: 0, total: 1 });
  });

  it('frees the slot when a stream closes, once however often it is closed', () => {
    const h = hub(1, 2);
    const close = h.open(new FakeResponse(), {}, 'a');
    expect(() => h.open(new FakeResponse(), {}, 'a')).toThrow(StreamLimitReached);
    close();
    close();
    expect(h.openBy('a')).toBe(0);
    const again = h.open(new FakeResponse(), {}, 'a');
    h.open(new FakeResponse(), {}, 'b');
    expect(h.stats().clients).toBe(2);
    again();
    expect(h.stats().clients).toBe(1);
    expect(h.openBy('b')).toBe(1);
  });

  it('exports its caps and refusals on the metrics registry', async () => {
    const registry = new Registry();
    const h = hub(1, 5, registry);
    h.open(new FakeResponse(), {}, 'a');
    refusal(() => h.open(new FakeResponse(), {}, 'a'));
    const text = await registry.metrics();
    expect(text).toContain('bcb_sse_streams_refused_total{cap="per_token"} 1');
    expect(text).toContain('bcb_sse_streams_refused_total{cap="total"} 0');
    expect(text).toContain('bcb_sse_streams_limit{cap="per_token"} 1');
    expect(text).toContain('bcb_sse_streams_limit{cap="total"} 5');
  });
});
