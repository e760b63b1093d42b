import {
  HttpException,
  HttpStatus,
  Inject,
  Injectable,
  Logger,
  OnModuleDestroy,
  Optional,
} from '@nestjs/common';
import { Counter, Gauge, Registry } from 'prom-client';
import { APP_CONFIG, AppConfig } from '../config/app-config';
import { LiveEvent, LiveEventKind, LiveFeed } from '../live/live-feed.service';
import { METRIC_PREFIX, METRICS_REGISTRY } from '../metrics/metrics-registry';
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
  /** Whose slot it takes: a token id, or the name of a token-less actor (bootstrap admin). */
  owner: string;
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
  /** Streams refused since start because a cap was reached. */
  refused: Record<StreamCap, number>;
}

export type StreamCap = 'per_token' | 'total';

/**
 * A stream refused at a cap: 429 when the caller's own token holds its
 * share (it can close one), 503 when the instance is full (nobody's fault,
 * try later). `retryAfterS` goes out as Retry-After.
 */
export class StreamLimitReached extends HttpException {
  constructor(
    readonly cap: StreamCap,
    readonly limit: number,
    readonly retryAfterS: number,
  ) {
    const perToken = cap === 'per_token';
    const status = perToken ? HttpStatus.TOO_MANY_REQUESTS : HttpStatus.SERVICE_UNAVAILABLE;
    super(
      {
        statusCode: status,
        error: perToken ? 'Too Many Requests' : 'Service Unavailable',
        message: perToken
          ? `this token already holds ${limit} open streams (SSE_MAX_PER_TOKEN): close one, or retry after ${retryAfterS} s`
          : `this instance serves its maximum of ${limit} streams (SSE_MAX_TOTAL): retry after ${retryAfterS} s`,
      },
      status,
    );
  }
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
  private readonly perOwner = new Map<string, number>();
  private readonly refused: Record<StreamCap, number> = { per_token: 0, total: 0 };
  private unsubscribe?: () => void;
  private lastId = 0;
  private dropped = 0;

  constructor(
    private readonly live: LiveFeed,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    @Optional() @Inject(METRICS_REGISTRY) registry?: Registry,
  ) {
    if (registry) this.registerMetrics(registry);
  }

  /**
   * Starts streaming to `res` for `owner`; the returned function detaches it
   * (idempotent) and frees the slot. Throws StreamLimitReached, before
   * anything is written, when the owner or the instance is at its cap.
   */
  open(res: StreamResponse, filter: StreamFilter, owner: string): () => void {
    const { maxPerToken, maxTotal, heartbeatS } = this.config.sse;
    // Retry-After is one heartbeat period: a closed connection frees its slot at once, so a
    // client that retries that often waits little and never hammers.
    if ((this.perOwner.get(owner) ?? 0) >= maxPerToken) {
      this.refused.per_token++;
      throw new StreamLimitReached('per_token', maxPerToken, heartbeatS);
    }
    if (this.clients.size >= maxTotal) {
      this.refused.total++;
      throw new StreamLimitReached('total', maxTotal, heartbeatS);
    }
    this.perOwner.set(owner, (this.perOwner.get(owner) ?? 0) + 1);
    const queue = new SseClientQueue(res, {
      capacity: this.config.sse.clientQueue,
      onDrop: (n) => (this.dropped += n),
    });
    const heartbeat = setInterval(
      () => queue.comment(`heartbeat ${new Date().toISOString()}`),
      this.config.sse.heartbeatS * 1000,
    ).unref();
    const client: Client = { owner, filter, queue, res, heartbeat };
    this.clients.add(client);
    // Subscribed only while someone listens: the telemetry path skips building events otherwise.
    this.unsubscribe ??= this.live.subscribe((e) => this.dispatch(e));
    return () => this.detach(client);
  }

  stats(): StreamStats {
    let queued = 0;
    for (const c of this.clients) queued += c.queue.size;
    return {
      clients: this.clients.size,
      droppedTotal: this.dropped,
      queued,
      refused: { ...this.refused },
    };
  }

  /** Open streams of one owner (token id or actor name). */
  openBy(owner: string): number {
    return this.perOwner.get(owner) ?? 0;
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
    const left = (this.perOwner.get(c.owner) ?? 1) - 1;
    if (left > 0) this.perOwner.set(c.owner, left);
    else this.perOwner.delete(c.owner);
    clearInterval(c.heartbeat);
    c.queue.close();
    if (c.queue.dropped > 0)
      this.log.warn(`stream client closed after dropping ${c.queue.dropped} events`);
    if (this.clients.size === 0 && this.unsubscribe) {
      this.unsubscribe();
      this.unsubscribe = undefined;
    }
  }

  /**
   * The caps and their refusals. The open-streams gauge (bcb_sse_clients) is
   * registered with the other stream metrics in AppMetrics.
   */
  private registerMetrics(registry: Registry): void {
    const refused = this.refused;
    const { maxPerToken, maxTotal } = this.config.sse;
    new Counter({
      name: `${METRIC_PREFIX}sse_streams_refused_total`,
      help: 'streams refused at a cap: per_token (429) or total (503)',
      labelNames: ['cap'],
      registers: [registry],
      collect() {
        this.reset();
        for (const cap of ['per_token', 'total'] as const) this.inc({ cap }, refused[cap]);
      },
    });
    new Gauge({
      name: `${METRIC_PREFIX}sse_streams_limit`,
      help: 'configured caps of open streams: per_token (SSE_MAX_PER_TOKEN), total (SSE_MAX_TOTAL)',
      labelNames: ['cap'],
      registers: [registry],
      collect() {
        this.set({ cap: 'per_token' }, maxPerToken);
        this.set({ cap: 'total' }, maxTotal);
      },
    });
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
