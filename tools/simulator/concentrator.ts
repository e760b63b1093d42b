import { EventEmitter } from 'node:events';
import mqtt, { IClientOptions, MqttClient } from 'mqtt';
import { parseJson, validateCommand } from './commands';
import { LineModel } from './line-model';
import {
  ACK,
  AlarmCode,
  Command,
  DEFAULT_PARAMS,
  DeviceConfig,
  Json,
  LineParams,
  SN_RE,
  ScheduleItem,
  StatusCause,
  TelemetryLine,
  UpgradeState,
} from './protocol';
import { Random, between, seedFromString, seededRandom } from './random';
import { applySchedules, deviceTime, dueSchedules } from './schedule';
import { download, verifyImage } from './upgrade';

export interface ConcentratorOptions {
  brokerUrl: string;
  sn: string;
  /** Breaker lines behind the concentrator, 1-64. Default 8. */
  lines?: number;
  /** Automatic telemetry period; 0 disables it (tests and the bench publish by hand). Default 5000. */
  intervalMs?: number;
  topicRoot?: string;
  /** Default: the serial, as §1 prescribes. */
  username?: string;
  password?: string;
  /** Default: the serial. */
  clientId?: string;
  fw?: string;
  model?: string;
  io?: string;
  /** MQTT protocol level: 4 = 3.1.1 (default), 5. */
  protocolVersion?: 4 | 5;
  /** Share of valid commands answered `ack ok:false code 34`, without acting on them. */
  failRate?: number;
  /** Share of valid commands acked at all; the rest are ignored as if lost in transit. Default 1. */
  ackRate?: number;
  tls?: { ca?: string | Buffer; rejectUnauthorized?: boolean; servername?: string };
  /** Random manual switching and alarms. Default false for the library, on in the CLI. */
  chatter?: boolean;
  /** Mean period of chatter events. Default 60000. */
  chatterEveryMs?: number;
  /** Run stored schedules on the device clock. Default true. */
  runSchedules?: boolean;
  /** Device clock = host clock + this many seconds (clock-skew tests). */
  clockOffsetS?: number;
  /** Device time zone as minutes east of UTC; default the host's zone. */
  tzOffsetMin?: number;
  /** Adopt the backend's `ts` from `config` as the device clock. Default false, so skew tests keep their skew. */
  syncClock?: boolean;
  rebootDelayMs?: number;
  connectTimeoutMs?: number;
  /** Bound on `received`, so a long CLI run does not grow without limit. Default 10000. */
  maxReceived?: number;
  seed?: number;
  logger?: (line: string) => void;
}

export interface ReceivedMessage {
  topic: string;
  raw: Buffer;
  /** Parsed JSON object, or undefined when the payload was not a JSON object. */
  msg: Json | undefined;
  at: number;
}

export interface AlarmInput {
  line: number;
  code: AlarmCode;
  active: boolean;
  value?: number;
  limit?: number;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * One concentrator speaking protocol v1 over a real MQTT connection.
 *
 * Events: 'connected' (after subscribe + config_request, on every (re)connect),
 * 'disconnected', 'command' (msg, ReceivedMessage) for every todev message.
 * `seq` restarts at 1 on each simulated boot (start, reboot, upgrade), as §2
 * counts it "since boot"; it does not restart on a mere network reconnect.
 */
export class SimulatedConcentrator extends EventEmitter {
  readonly sn: string;
  readonly lineCount: number;
  readonly fromdevTopic: string;
  readonly todevTopic: string;
  clockOffsetS: number;
  readonly received: ReceivedMessage[] = [];
  readonly stats = { published: 0, commands: 0, acks: 0 };

  private client?: MqttClient;
  private seq = 0;
  private stopped = true;
  private upgrading = false;
  private queue: Promise<void> = Promise.resolve();
  private currentFw: string;
  private readonly models: LineModel[];
  private readonly causes: StatusCause[];
  private items: ScheduleItem[] = [];
  private readonly thresholds = new Map<number, LineParams>();
  private cfg: DeviceConfig = {};
  private telemetryTimer?: NodeJS.Timeout;
  private chatterTimer?: NodeJS.Timeout;
  private scheduleTimer?: NodeJS.Timeout;
  private lastScheduleMinute = -1;
  private readonly rnd: Random;

  constructor(private readonly opts: ConcentratorOptions) {
    super();
    if (!SN_RE.test(opts.sn)) throw new Error(`sn must be 12 digits: ${opts.sn}`);
    this.sn = opts.sn;
    this.lineCount = opts.lines ?? 8;
    if (!Number.isInteger(this.lineCount) || this.lineCount < 1 || this.lineCount > 64) {
      throw new Error('lines must be 1-64');
    }
    const root = opts.topicRoot ?? 'smart/devs';
    this.fromdevTopic = `${root}/${this.sn}/fromdev`;
    this.todevTopic = `${root}/${this.sn}/todev`;
    this.clockOffsetS = opts.clockOffsetS ?? 0;
    this.currentFw = opts.fw ?? '1.4.2';
    this.rnd = seededRandom(opts.seed ?? seedFromString(this.sn));
    this.models = Array.from({ length: this.lineCount }, (_, i) => new LineModel(i + 1, this.rnd));
    this.causes = this.models.map(() => 'power_on');
    for (let line = 1; line <= this.lineCount; line++) {
      this.thresholds.set(line, { line, ...DEFAULT_PARAMS });
    }
  }

  get connected(): boolean {
    return this.client?.connected === true;
  }
  get fw(): string {
    return this.currentFw;
  }
  get lineStates(): boolean[] {
    return this.models.map((m) => m.on);
  }
  get schedules(): ScheduleItem[] {
    return structuredClone(this.items);
  }
  get params(): LineParams[] {
    return [...this.thresholds.values()].map((p) => ({ ...p }));
  }
  get config(): DeviceConfig {
    return { ...this.cfg };
  }
  /** The seq of the last message sent since boot. */
  get lastSeq(): number {
    return this.seq;
  }

  /** Device clock, Unix seconds. */
  nowS(): number {
    return Math.floor(Date.now() / 1000 + this.clockOffsetS);
  }

  async start(): Promise<void> {
    if (!this.stopped) throw new Error('already started');
    this.stopped = false;
    this.seq = 0;
    try {
      await this.connect(true);
    } catch (e) {
      this.stopped = true;
      throw e;
    }
    this.startTimers();
  }

  /** Clean disconnect: the broker discards the will. */
  async stop(): Promise<void> {
    await this.shutdown(false);
  }

  /** Drops the socket without DISCONNECT, so the broker publishes the `offline` will. */
  async crash(): Promise<void> {
    await this.shutdown(true);
  }

  private async shutdown(force: boolean): Promise<void> {
    this.stopped = true;
    this.stopTimers();
    const c = this.client;
    this.client = undefined;
    if (c) await c.endAsync(force);
  }

  private connect(failFast: boolean): Promise<void> {
    const o = this.opts;
    const options: IClientOptions = {
      clientId: o.clientId ?? this.sn,
      username: o.username ?? this.sn,
      password: o.password,
      protocolVersion: o.protocolVersion ?? 4,
      clean: true,
      keepalive: 30,
      reconnectPeriod: 1000,
      connectTimeout: o.connectTimeoutMs ?? 10_000,
      // Resubscribing is done by hand in onConnect, so it happens before config_request.
      resubscribe: false,
      will: {
        topic: this.fromdevTopic,
        payload: Buffer.from(JSON.stringify({ sn: this.sn, type: 'offline' })),
        qos: 0,
        retain: false,
      },
      ca: o.tls?.ca,
      rejectUnauthorized: o.tls?.rejectUnauthorized,
      servername: o.tls?.servername,
    };
    const client = mqtt.connect(o.brokerUrl, options);
    this.client = client;
    return new Promise((resolve, reject) => {
      let settled = false;
      const settle = (err?: Error) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        if (err && failFast) {
          client.end(true);
          if (this.client === client) this.client = undefined;
        }
        if (err) reject(err);
        else resolve();
      };
      // mqtt.js retries silently on a connect timeout; start() must not hang on that.
      const timer = failFast
        ? setTimeout(
            () => settle(new Error('connect timeout')),
            (o.connectTimeoutMs ?? 10_000) + 1000,
          )
        : undefined;
      client.on('connect', () => {
        this.onConnect(client).then(
          () => settle(),
          (e: Error) => {
            this.log(`after connect: ${e.message}`);
            settle(e);
          },
        );
      });
      client.on('message', (topic, payload) => this.onMessage(topic, payload));
      client.on('error', (err) => {
        this.log(`mqtt error: ${err.message}`);
        if (failFast) settle(err);
      });
      client.on('close', () => this.emit('disconnected'));
      client.on('end', () => settle(new Error('client ended')));
    });
  }

  private async onConnect(client: MqttClient): Promise<void> {
    const granted = await client.subscribeAsync(this.todevTopic, { qos: 0 });
    if (granted.some((g) => g.qos >= 128)) throw new Error(`subscribe refused: ${this.todevTopic}`);
    await this.publish({
      type: 'config_request',
      fw: this.currentFw,
      model: this.opts.model ?? 'RJ-C8',
      lines: this.lineCount,
      io: this.opts.io ?? 'eth',
    });
    this.log('connected');
    this.emit('connected');
  }

  // ---- publishing -------------------------------------------------------

  /** Publishes a fromdev message, adding sn/ts/seq (fields in `obj` win, for negative tests). */
  async publish(obj: Json): Promise<Json> {
    const msg: Json = { sn: this.sn, type: obj.type, ts: this.nowS(), seq: ++this.seq, ...obj };
    await this.send(this.fromdevTopic, JSON.stringify(msg));
    return msg;
  }

  /** Publishes exactly the given bytes (objects are JSON-encoded untouched). */
  publishRaw(payload: string | Buffer | object, topic = this.fromdevTopic): Promise<void> {
    const body =
      typeof payload === 'string' || Buffer.isBuffer(payload) ? payload : JSON.stringify(payload);
    return this.send(topic, body);
  }

  private send(topic: string, payload: string | Buffer): Promise<void> {
    const c = this.client;
    if (!c || c.disconnecting) return Promise.reject(new Error(`${this.sn} not connected`));
    this.stats.published++;
    return new Promise((resolve, reject) => {
      c.publish(topic, payload, { qos: 0, retain: false }, (err) =>
        err ? reject(err) : resolve(),
      );
    });
  }

  /**
   * One telemetry message now. Without arguments: every line from the model.
   * With `lines`: exactly those entries, model values overlaid with the given
   * fields (a field set to undefined is omitted, as for a missing sensor).
   * `fields` adds or overrides top-level fields, e.g. an explicit `ts`.
   */
  publishTelemetry(lines?: Array<Partial<TelemetryLine>>, fields: Json = {}): Promise<Json> {
    const now = Date.now();
    const entries: Json[] = lines
      ? lines.map((o, i) => {
          const n = o.line ?? i + 1;
          const model = this.models[n - 1];
          const base: Json = model ? { ...model.sample(now) } : { line: n };
          const merged: Json = { ...base, ...o, line: n };
          for (const k of Object.keys(merged)) if (merged[k] === undefined) delete merged[k];
          return merged;
        })
      : this.models.map((m) => ({ ...m.sample(now) }));
    return this.publish({ type: 'telemetry', lines: entries, ...fields });
  }

  /** Reports the current state of `lines` (default all), with `cause` or each line's last cause. */
  publishStatus(lines?: number[], cause?: StatusCause): Promise<Json> {
    const which = lines ?? this.models.map((m) => m.line);
    if (cause) for (const n of which) this.causes[n - 1] = cause;
    return this.publish({
      type: 'status',
      lines: which.map((n) => ({ line: n, on: this.models[n - 1].on, cause: this.causes[n - 1] })),
    });
  }

  /** Changes line states as a local event would, and reports the lines that changed. */
  async setLines(lines: number[], on: boolean, cause: StatusCause): Promise<Json | undefined> {
    const changed = lines.filter((n) => this.models[n - 1] && this.models[n - 1].on !== on);
    for (const n of changed) this.models[n - 1].on = on;
    return changed.length ? this.publishStatus(changed, cause) : undefined;
  }

  publishAlarm(a: AlarmInput): Promise<Json> {
    const body: Json = { type: 'alarm', line: a.line, code: a.code, active: a.active };
    if (a.value !== undefined) body.value = a.value;
    if (a.limit !== undefined) body.limit = a.limit;
    return this.publish(body);
  }

  // ---- receiving --------------------------------------------------------

  /**
   * Resolves with the first todev message matching `predicate`. Already
   * received messages are searched first (unless `includePast` is false), so
   * a test cannot miss a command that arrived before it started waiting.
   */
  waitFor(predicate: (m: Json) => boolean, timeoutMs = 5000, includePast = true): Promise<Json> {
    if (includePast) {
      const hit = this.received.find((r) => r.msg && predicate(r.msg));
      if (hit?.msg) return Promise.resolve(hit.msg);
    }
    return new Promise((resolve, reject) => {
      const onCommand = (m: Json | undefined) => {
        if (!m || !predicate(m)) return;
        clearTimeout(timer);
        this.off('command', onCommand);
        resolve(m);
      };
      const timer = setTimeout(() => {
        this.off('command', onCommand);
        reject(new Error(`${this.sn}: waitFor timed out after ${timeoutMs} ms`));
      }, timeoutMs);
      this.on('command', onCommand);
    });
  }

  private onMessage(topic: string, raw: Buffer): void {
    const msg = parseJson(raw);
    const rec: ReceivedMessage = { topic, raw, msg, at: Date.now() };
    this.received.push(rec);
    if (this.received.length > (this.opts.maxReceived ?? 10_000)) this.received.shift();
    this.stats.commands++;
    this.emit('command', msg, rec);
    if (topic !== this.todevTopic) return;
    // One command at a time, in arrival order, like a device's main loop: an
    // answer never overtakes the ack of an earlier command.
    this.queue = this.queue
      .then(() => this.handle(msg))
      .catch((e: Error) => this.log(`command failed: ${e.message}`));
  }

  private ack(id: string | undefined, ok: boolean, code: number, msg?: string): Promise<Json> {
    this.stats.acks++;
    const body: Json = { type: 'ack' };
    if (id !== undefined) body.id = id;
    Object.assign(body, { ok, code }, msg ? { msg } : {});
    return this.publish(body);
  }

  private async handle(m: Json | undefined): Promise<void> {
    const v = validateCommand(m, this.sn, this.lineCount);
    if (!v.ok) {
      this.log(`rejected command: ${v.msg}`);
      await this.ack(v.id, false, v.code, v.msg);
      return;
    }
    const cmd = v.cmd;
    if (this.rnd() >= (this.opts.ackRate ?? 1)) {
      this.log(`dropped ${cmd.type} ${cmd.id} (ackRate)`);
      return;
    }
    if (this.rnd() < (this.opts.failRate ?? 0)) {
      await this.ack(cmd.id, false, ACK.breakerTimeout, 'breaker timeout');
      return;
    }
    await this.execute(cmd);
  }

  private async execute(cmd: Command): Promise<void> {
    switch (cmd.type) {
      case 'config':
        return this.onConfig(cmd);
      case 'switch': {
        const lines = cmd.lines === 'all' ? this.models.map((x) => x.line) : cmd.lines;
        const changed = lines.filter((n) => this.models[n - 1].on !== cmd.on);
        for (const n of changed) this.models[n - 1].on = cmd.on;
        await this.ack(cmd.id, true, ACK.ok);
        if (changed.length) await this.publishStatus(changed, cmd.on ? 'remote_on' : 'remote_off');
        return;
      }
      case 'schedules':
        this.items = cmd.items;
        await this.ack(cmd.id, true, ACK.ok);
        return;
      case 'params':
        for (const p of cmd.lines)
          this.thresholds.set(p.line, { ...this.thresholds.get(p.line), ...p });
        await this.ack(cmd.id, true, ACK.ok);
        return;
      case 'query':
        await this.ack(cmd.id, true, ACK.ok);
        if (cmd.what === 'status') await this.publishStatus();
        else if (cmd.what === 'telemetry') await this.publishTelemetry();
        else if (cmd.what === 'schedules') {
          await this.publish({ type: 'schedules', id: cmd.id, items: this.schedules });
        } else await this.publish({ type: 'params', id: cmd.id, lines: this.params });
        return;
      case 'reboot':
        await this.ack(cmd.id, true, ACK.ok);
        await this.reboot();
        return;
      case 'upgrade':
        if (this.upgrading) {
          await this.ack(cmd.id, false, ACK.busy, 'upgrade in progress');
          return;
        }
        this.upgrading = true;
        await this.ack(cmd.id, true, ACK.ok);
        // The download runs beside the command loop, so the device stays responsive meanwhile.
        this.upgrade(cmd)
          .catch((e: Error) => this.log(`upgrade: ${e.message}`))
          .finally(() => (this.upgrading = false));
        return;
    }
  }

  private async onConfig(cmd: Extract<Command, { type: 'config' }>): Promise<void> {
    for (const k of ['report_s', 'heartbeat_s', 'delta_pct'] as const) {
      if (cmd[k] !== undefined) this.cfg[k] = cmd[k];
    }
    if (this.opts.syncClock && cmd.ts !== undefined) {
      this.clockOffsetS = Math.round(cmd.ts - Date.now() / 1000);
    }
    if (cmd.report_s !== undefined && this.telemetryTimer) {
      this.startTelemetry(cmd.report_s * 1000);
    }
    await this.ack(cmd.id, true, ACK.ok);
  }

  /** Simulated power cycle: clean disconnect, then a new boot (seq restarts, config_request). */
  async reboot(delayMs = this.opts.rebootDelayMs ?? 200): Promise<void> {
    const old = this.client;
    this.client = undefined;
    if (old) await old.endAsync(false);
    await sleep(delayMs);
    if (this.stopped) return;
    this.seq = 0;
    await this.connect(false);
  }

  private async upgrade(cmd: Extract<Command, { type: 'upgrade' }>): Promise<void> {
    const report = (state: UpgradeState, extra: Json = {}) =>
      this.publish({ type: 'upgrade', id: cmd.id, state, ...extra });
    await report('downloading', { progress: 0 });
    let image: Buffer;
    try {
      image = await download(cmd.url, cmd.size, this.opts.tls ?? {}, (progress) => {
        report('downloading', { progress }).catch(() => undefined);
      });
    } catch (e) {
      await report('failed', { msg: `download failed: ${(e as Error).message}` });
      return;
    }
    await report('downloading', { progress: 100 });
    await report('verifying');
    const problem = verifyImage(image, cmd.size, cmd.sha256);
    if (problem) {
      await report('failed', { msg: problem });
      return;
    }
    await report('installing');
    this.currentFw = cmd.version;
    await this.reboot();
    await report('done', { progress: 100, version: cmd.version });
  }

  // ---- schedules --------------------------------------------------------

  /**
   * Runs the schedules due at device time `nowS` (default: now) and reports
   * changed lines. Public so tests can fire a minute without waiting for it.
   */
  async checkSchedules(nowS = this.nowS()): Promise<Json | undefined> {
    const t = deviceTime(nowS, this.opts.tzOffsetMin);
    this.lastScheduleMinute = t.minute;
    const due = dueSchedules(this.items, t);
    const changes = applySchedules(due, this.lineStates);
    if (!changes.length) return undefined;
    const report: Json[] = changes.map(({ line, on }) => {
      this.models[line - 1].on = on;
      this.causes[line - 1] = on ? 'schedule_on' : 'schedule_off';
      return { line, on, cause: this.causes[line - 1] };
    });
    return this.publish({ type: 'status', lines: report });
  }

  private scheduleNextMinute(): void {
    const deviceMs = Date.now() + this.clockOffsetS * 1000;
    const delay = 60_000 - (deviceMs % 60_000) + 50;
    this.scheduleTimer = setTimeout(() => {
      if (this.stopped) return;
      const minute = Math.floor(this.nowS() / 60);
      if (minute !== this.lastScheduleMinute && this.connected) {
        this.checkSchedules().catch((e: Error) => this.log(`schedule: ${e.message}`));
      }
      this.scheduleNextMinute();
    }, delay);
    this.scheduleTimer.unref();
  }

  // ---- timers -----------------------------------------------------------

  private startTimers(): void {
    const interval = this.opts.intervalMs ?? 5000;
    if (interval > 0) this.startTelemetry(this.cfg.report_s ? this.cfg.report_s * 1000 : interval);
    if (this.opts.chatter) {
      const every = this.opts.chatterEveryMs ?? 60_000;
      this.chatterTimer = setInterval(() => this.chatter(every), every);
      this.chatterTimer.unref();
    }
    if (this.opts.runSchedules !== false) this.scheduleNextMinute();
  }

  private startTelemetry(periodMs: number): void {
    clearInterval(this.telemetryTimer);
    this.telemetryTimer = setInterval(() => {
      if (!this.connected) return;
      this.publishTelemetry().catch((e: Error) => this.log(`telemetry: ${e.message}`));
    }, periodMs);
    this.telemetryTimer.unref();
  }

  private stopTimers(): void {
    clearInterval(this.telemetryTimer);
    clearInterval(this.chatterTimer);
    clearTimeout(this.scheduleTimer);
    this.telemetryTimer = this.chatterTimer = this.scheduleTimer = undefined;
  }

  /** Low-rate background life: someone flips a breaker, or a line overheats for a while. */
  private chatter(every: number): void {
    if (!this.connected || this.rnd() > 0.5) return;
    const line = 1 + Math.floor(this.rnd() * this.lineCount);
    const fail = (e: Error) => this.log(`chatter: ${e.message}`);
    if (this.rnd() < 0.6) {
      const on = !this.models[line - 1].on;
      this.setLines([line], on, on ? 'manual_on' : 'manual_off').catch(fail);
      return;
    }
    const value = Math.round(between(this.rnd, 86, 95) * 10) / 10;
    this.publishAlarm({ line, code: 'overtemp', active: true, value, limit: 85 }).catch(fail);
    setTimeout(() => {
      if (this.connected) this.publishAlarm({ line, code: 'overtemp', active: false }).catch(fail);
    }, every / 2).unref();
  }

  private log(line: string): void {
    this.opts.logger?.(`[${this.sn}] ${line}`);
  }
}
