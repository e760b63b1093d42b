import { Inject, Injectable, Logger, OnModuleDestroy } from '@nestjs/common';
import { APP_CONFIG, AppConfig } from '../config/app-config';
import { LiveEvent, LiveEventKind, LiveEvents } from '../events/live-events.service';
import { SseClientQueue, SseSink } from './sse-client-queue';
import { sseFrame } from './sse-frame';

export interface StreamFilter {
  sns?: ReadonlySet<string>;
  kinds?: ReadonlySet<LiveEventKind>;
}

/** What the hub needs of an HTTP response. */
export interface StreamResponse extends SseSink {
  end(): unknown;
}

interface Client {
  filter: StreamFilter;
  queue: SseClientQueue;
  res: StreamResponse;
  heartbeat: NodeJS.Timeout;
}

export interface StreamStats {
  clients: number;
  /** Frames dropped for slow clients since start, all clients together. */
  droppedTotal: number;
  /** Frames currently waiting in client queues. */
  queued: number;
}

/**
 * Fans live events out to SSE clients. The bus listener only formats a frame
 * once and appends it to each matching client's bounded queue; sockets are
 * written later, off the ingestion stack, so no client can slow ingestion.
 */
@Injectable()
export class StreamHub implements OnModuleDestroy {
  private readonly log = new Logger('Stream');
  private readonly clients = new Set<Client>();
  private unsubscribe?: () => void;
  private lastId = 0;
  private dropped = 0;

  constructor(
    private readonly live: LiveEvents,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  /** Starts streaming to `res`; the returned function detaches it (idempotent). */
  open(res: StreamResponse, filter: StreamFilter): () => void {
    const queue = new SseClientQueue(res, {
      capacity: this.config.sse.clientQueue,
      onDrop: (n) => (this.dropped += n),
    });
    const heartbeat = setInterval(
      () => queue.comment(`heartbeat ${new Date().toISOString()}`),
      this.config.sse.heartbeatS * 1000,
    ).unref();
    const client: Client = { filter, queue, res, heartbeat };
    this.clients.add(client);
    // Subscribed only while someone listens: the telemetry path skips building events otherwise.
    this.unsubscribe ??= this.live.subscribe((e) => this.dispatch(e));
    return () => this.detach(client);
  }

  stats(): StreamStats {
    let queued = 0;
    for (const c of this.clients) queued += c.queue.size;
    return { clients: this.clients.size, droppedTotal: this.dropped, queued };
  }

  onModuleDestroy(): void {
    // Open streams would otherwise keep the HTTP server from closing.
    for (const c of [...this.clients]) {
      this.detach(c);
      c.res.end();
    }
  }

  private detach(c: Client): void {
    if (!this.clients.delete(c)) return;
    clearInterval(c.heartbeat);
    c.queue.close();
    if (c.queue.dropped > 0)
      this.log.warn(`stream client closed after dropping ${c.queue.dropped} events`);
    if (this.clients.size === 0 && this.unsubscribe) {
      this.unsubscribe();
      this.unsubscribe = undefined;
    }
  }

  private dispatch(e: LiveEvent): void {
    let frame: string | undefined;
    for (const c of this.clients) {
      if (c.filter.kinds && !c.filter.kinds.has(e.kind)) continue;
      if (c.filter.sns && !c.filter.sns.has(e.sn)) continue;
      frame ??= sseFrame(++this.lastId, e);
      c.queue.push(frame);
    }
  }
}
