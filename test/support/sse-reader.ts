import { IncomingMessage, request } from 'node:http';
import { AddressInfo } from 'node:net';
import { INestApplication } from '@nestjs/common';

export interface SseEvent {
  id?: string;
  event: string;
  data: unknown;
}

/**
 * A real HTTP client reading a Server-Sent Events stream frame by frame
 * (node:http, nothing shared with the server's objects).
 */
export class SseReader {
  readonly events: SseEvent[] = [];
  readonly comments: string[] = [];
  status = 0;
  headers: IncomingMessage['headers'] = {};
  private res?: IncomingMessage;
  private buffer = '';
  private waiters: Array<() => void> = [];
  private ended = false;

  private constructor() {}

  static open(app: INestApplication, path: string, token?: string): Promise<SseReader> {
    const { port } = (app.getHttpServer() as { address(): AddressInfo }).address();
    const r = new SseReader();
    return new Promise((resolve, reject) => {
      const req = request(
        {
          host: '127.0.0.1',
          port,
          path,
          headers: {
            Accept: 'text/event-stream',
            ...(token ? { Authorization: `Bearer ${token}` } : {}),
          },
        },
        (res) => {
          r.res = res;
          r.status = res.statusCode ?? 0;
          r.headers = res.headers;
          res.setEncoding('utf8');
          res.on('data', (chunk: string) => r.feed(chunk));
          res.on('end', () => {
            r.ended = true;
            r.wake();
          });
          res.on('error', () => undefined);
          resolve(r);
        },
      );
      req.on('error', reject);
      req.end();
    });
  }

  get closed(): boolean {
    return this.ended;
  }

  /** Stops reading: the kernel buffers fill and the server sees backpressure. */
  pause(): void {
    this.res?.pause();
  }
  resume(): void {
    this.res?.resume();
  }
  close(): void {
    this.res?.destroy();
  }

  /** The body text of a non-stream answer (401, 400 …). */
  async text(): Promise<string> {
    await this.until(() => this.ended, 10_000, 'end of body');
    return this.buffer;
  }

  of(kind: string): SseEvent[] {
    return this.events.filter((e) => e.event === kind);
  }

  async next(
    pred: (e: SseEvent) => boolean,
    timeoutMs = 10_000,
    what = 'event',
  ): Promise<SseEvent> {
    let hit: SseEvent | undefined;
    await this.until(() => (hit = this.events.find(pred)) !== undefined, timeoutMs, what);
    return hit!;
  }

  until(check: () => boolean, timeoutMs: number, what: string): Promise<void> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiters = this.waiters.filter((w) => w !== poll);
        reject(
          new Error(
            `timed out waiting for ${what}; got ${JSON.stringify(this.events.map((e) => e.event))}`,
          ),
        );
      }, timeoutMs);
      const poll = () => {
        if (!check()) return;
        clearTimeout(timer);
        this.waiters = this.waiters.filter((w) => w !== poll);
        resolve();
      };
      this.waiters.push(poll);
      poll();
    });
  }

  private wake(): void {
    for (const w of [...this.waiters]) w();
  }

  private feed(chunk: string): void {
    this.buffer += chunk;
    if (this.status !== 200) return;
    let sep: number;
    while ((sep = this.buffer.indexOf('\n\n')) >= 0) {
      const block = this.buffer.slice(0, sep);
      this.buffer = this.buffer.slice(sep + 2);
      this.parse(block);
    }
    this.wake();
  }

  private parse(block: string): void {
    let event = 'message';
    let id: string | undefined;
    const data: string[] = [];
    for (const line of block.split('\n')) {
      if (line.startsWith(':')) this.comments.push(line.slice(1).trim());
      else if (line.startsWith('event: ')) event = line.slice(7);
      else if (line.startsWith('id: ')) id = line.slice(4);
      else if (line.startsWith('data: ')) data.push(line.slice(6));
    }
    if (data.length > 0) this.events.push({ id, event, data: JSON.parse(data.join('\n')) });
  }
}
