/**
 * The minimal pipeline of issue 9, the yardstick `npm run bench -- --compare`
 * measures the service against: one mqtt.js subscriber on `<root>/+/fromdev`,
 * JSON.parse, the serial check, rows buffered and written with
 * `COPY … FROM STDIN` in batches of at most MINIMAL_BATCH_ROWS rows or
 * MINIMAL_FLUSH_MS old, at most MINIMAL_MAX_INFLIGHT batches in flight, and
 * transport backpressure: the next MQTT message is read only while fewer
 * batches than that are in flight (and none waits for a slot), so a subscriber
 * that falls behind stops reading its socket and the broker sheds the load.
 *
 * Runs as a child process of the bench (see ingester-ipc.ts); configured by
 * environment: BENCH_MQTT_URL, BENCH_DATABASE_URL, BENCH_TOPIC_ROOT,
 * BENCH_MINIMAL_TABLE, MQTT_USERNAME / MQTT_PASSWORD.
 */
import mqtt from 'mqtt';
import { Pool } from 'pg';
import { from as copyFrom } from 'pg-copy-streams';
import { Ingester, IngesterSnapshot, serveIngester } from './ingester-ipc';
import { COPY_COLUMNS, decodeTelemetry } from './minimal-rows';

export interface MinimalOptions {
  mqttUrl: string;
  databaseUrl: string;
  topicRoot: string;
  /** Schema-qualified table of telemetry's shape. */
  table: string;
  username?: string;
  password?: string;
  batchRows: number;
  flushMs: number;
  maxInflight: number;
}

interface Batch {
  chunks: string[];
  rows: number;
}

const wallMs = () => performance.timeOrigin + performance.now();

export class MinimalPipeline implements Ingester {
  private current: Batch = { chunks: [], rows: 0 };
  private readonly sealed: Batch[] = [];
  private inflight = 0;
  private timer?: NodeJS.Timeout;
  /** mqtt.js's callback for the last message, held while the pipeline is full. */
  private paused?: () => void;
  private idleWaiters: (() => void)[] = [];
  private readonly copySql: string;
  private readonly prefix: number;
  private received = 0;
  private readonly rejected = new Map<string, number>();
  private droppedRows = 0;
  private stored = 0;
  private lastStoredAt = 0;
  private lastError = '';

  constructor(
    private readonly o: MinimalOptions,
    private readonly pool: Pool,
  ) {
    this.copySql = `COPY ${o.table} (${COPY_COLUMNS.join(', ')}) FROM STDIN`;
    this.prefix = o.topicRoot.length + 1;
  }

  /** mqtt.js calls this for each PUBLISH and reads the next one only after `done`. */
  onMessage(topic: string, payload: Buffer, done: () => void): void {
    this.received++;
    const sn = topic.slice(this.prefix, topic.length - '/fromdev'.length);
    const d = decodeTelemetry(sn, payload, new Date().toISOString());
    if (d.kind === 'rows') {
      if (this.current.rows + d.rows > this.o.batchRows) this.seal();
      if (this.current.rows === 0) {
        this.timer = setTimeout(() => this.seal(), this.o.flushMs);
      }
      this.current.chunks.push(d.text);
      this.current.rows += d.rows;
      if (this.current.rows >= this.o.batchRows) this.seal();
    } else if (d.kind === 'rejected') {
      this.rejected.set(d.reason, (this.rejected.get(d.reason) ?? 0) + 1);
    }
    if (this.mayRead()) done();
    else this.paused = done;
  }

  private mayRead(): boolean {
    return this.inflight < this.o.maxInflight && this.sealed.length === 0;
  }

  private seal(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    if (this.current.rows > 0) {
      this.sealed.push(this.current);
      this.current = { chunks: [], rows: 0 };
    }
    this.pump();
  }

  private pump(): void {
    while (this.inflight < this.o.maxInflight && this.sealed.length > 0) {
      const batch = this.sealed.shift()!;
      this.inflight++;
      void this.write(batch).finally(() => {
        this.inflight--;
        this.pump();
        if (this.paused && this.mayRead()) {
          const resume = this.paused;
          this.paused = undefined;
          resume();
        }
        if (this.inflight === 0 && this.sealed.length === 0) {
          this.idleWaiters.splice(0).forEach((w) => w());
        }
      });
    }
  }

  private async write(batch: Batch): Promise<void> {
    const client = await this.pool.connect();
    let failed: Error | undefined;
    try {
      const stream = client.query(copyFrom(this.copySql));
      await new Promise<void>((resolve, reject) => {
        stream.once('error', reject);
        stream.once('finish', resolve);
        stream.end(batch.chunks.join(''));
      });
      this.stored += batch.rows;
      this.lastStoredAt = wallMs();
    } catch (e) {
      failed = e as Error;
      this.droppedRows += batch.rows;
      if (failed.message !== this.lastError) {
        this.lastError = failed.message;
        console.error(`minimal pipeline: COPY of ${batch.rows} rows failed: ${failed.message}`);
      }
    } finally {
      client.release(failed);
    }
  }

  snapshot(): IngesterSnapshot {
    return {
      received: this.received,
      rejected: Object.fromEntries(this.rejected),
      droppedMsgs: 0,
      droppedRows: this.droppedRows,
      duplicateRows: 0,
      bufferedRows: this.current.rows + this.sealed.reduce((s, b) => s + b.rows, 0),
      lastStoredAt: this.lastStoredAt,
    };
  }

  async drain(): Promise<void> {
    this.seal();
    if (this.inflight === 0 && this.sealed.length === 0) return;
    await new Promise<void>((resolve) => this.idleWaiters.push(resolve));
  }

  get storedRows(): number {
    return this.stored;
  }

  stop(): Promise<void> {
    return this.drain().then(() => this.pool.end());
  }
}

async function start(): Promise<{ ingester: Ingester; detail: string }> {
  const e = process.env;
  const need = (k: string) => {
    const v = e[k];
    if (!v) throw new Error(`${k} is not set`);
    return v;
  };
  const o: MinimalOptions = {
    mqttUrl: need('BENCH_MQTT_URL'),
    databaseUrl: need('BENCH_DATABASE_URL'),
    topicRoot: need('BENCH_TOPIC_ROOT'),
    table: need('BENCH_MINIMAL_TABLE'),
    username: e.MQTT_USERNAME,
    password: e.MQTT_PASSWORD,
    batchRows: Number(e.MINIMAL_BATCH_ROWS ?? 5000),
    flushMs: Number(e.MINIMAL_FLUSH_MS ?? 200),
    maxInflight: Number(e.MINIMAL_MAX_INFLIGHT ?? 3),
  };
  const pool = new Pool({
    connectionString: o.databaseUrl,
    max: o.maxInflight,
    application_name: 'bench-minimal',
  });
  const pipeline = new MinimalPipeline(o, pool);
  const client = mqtt.connect(o.mqttUrl, {
    clientId: `bench-minimal-${process.pid}`,
    username: o.username,
    password: o.password,
    clean: true,
    protocolVersion: 4,
    reconnectPeriod: 1000,
  });
  client.handleMessage = (packet, done) => {
    if (packet.cmd !== 'publish') return done();
    const payload =
      typeof packet.payload === 'string' ? Buffer.from(packet.payload) : packet.payload;
    pipeline.onMessage(packet.topic, payload, () => done());
  };
  client.on('error', (err) => console.error(`minimal pipeline: mqtt: ${err.message}`));
  const topic = `${o.topicRoot}/+/fromdev`;
  await new Promise<void>((resolve, reject) => {
    client.once('connect', () => {
      client.subscribe(topic, { qos: 0 }, (err, granted) => {
        if (err) reject(err);
        else if (granted?.some((g) => g.qos >= 128))
          reject(new Error(`subscribe refused: ${topic}`));
        else resolve();
      });
    });
  });
  const ingester: Ingester = {
    snapshot: () => pipeline.snapshot(),
    drain: () => pipeline.drain(),
    stop: async () => {
      await client.endAsync(true);
      await pipeline.stop();
    },
  };
  return {
    ingester,
    detail:
      `subscribed to ${topic}; COPY into ${o.table}, batches <= ${o.batchRows} rows / ` +
      `${o.flushMs} ms, <= ${o.maxInflight} in flight`,
  };
}

if (require.main === module) serveIngester(start);
