import { Inject, Injectable, Logger, OnModuleDestroy } from '@nestjs/common';
import { APP_CONFIG, AppConfig } from '../config/app-config';
import { DeviceHistory } from '../concentrators/device-history.service';
import { ConcentratorRegistry } from '../concentrators/concentrator-registry.service';
import { trustedTime } from '../protocol/clock';
import { decodeDeviceMessage } from '../protocol/decode';
import { DeviceMessage, DeviceMessageType } from '../protocol/device-messages';
import { parseFromdevTopic } from '../protocol/topics';
import { RejectionsService } from './rejections.service';
import { FlowGate, FromdevMqttServer } from '../mqtt/fromdev-server';
import { looksLikeTelemetry } from '../protocol/peek';
import { FromdevPacket } from '../mqtt/raw-fromdev.deserializer';
import { LogThrottle } from '../lib/log-throttle';
import { safeLogString } from '../protocol/sanitize';
import { DeviceMessageContext, DeviceMessageHandler } from './device-message-context';
import { IngestStats } from './ingest-stats';
import {
  ACCEPTED,
  DropReason,
  MessageOutcome,
  OutcomeLatch,
  dropped,
  failureReason,
  rejected,
} from './message-outcome';

/** Types that carry state of the breakers: only a managed concentrator's are kept. */
const MANAGED_ONLY: ReadonlySet<DeviceMessageType> = new Set([
  'telemetry',
  'status',
  'alarm',
  'ack',
  'upgrade',
  'schedules',
  'params',
]);

/**
 * The ingestion pipeline: topic → decode → registry → clock → the handlers
 * that feature modules register per message type. Every message ends as
 * exactly one counted outcome (accepted, rejected by reason, dropped by
 * reason); nothing here throws back into the transport.
 */
@Injectable()
export class IngestionService implements OnModuleDestroy {
  private readonly log = new Logger('Ingestion');
  private readonly handlers = new Map<DeviceMessageType, DeviceMessageHandler[]>();
  private idleWaiters: (() => void)[] = [];
  private stopped = false;
  private readonly failureLog = new LogThrottle(60_000);
  private shedTelemetry: () => boolean = () => false;

  constructor(
    private readonly stats: IngestStats,
    private readonly registry: ConcentratorRegistry,
    private readonly rejections: RejectionsService,
    private readonly events: DeviceHistory,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly ingress: FromdevMqttServer,
  ) {
    this.stats.flow = () => this.ingress.flow();
    this.ingress.useConsumer((packet) => this.ingest(packet));
  }

  /**
   * Backpressure, plugged in by the telemetry writer at init: `readGate` holds
   * the transport before it reads the next message; while `shedTelemetry()`
   * answers true, telemetry is dropped as raw bytes, before it is parsed, and
   * counted as dropped (`overload`). Other message types are never shed.
   */
  useBackpressure(p: { readGate: FlowGate; shedTelemetry: () => boolean }): void {
    this.shedTelemetry = p.shedTelemetry;
    this.ingress.useFlowGate(p.readGate);
  }

  /**
   * Shutdown starts here: stop taking device messages, then let the ones in
   * progress finish. Nest closes microservices only after the destroy hooks,
   * so without this a message could meet a half-closed database.
   */
  async onModuleDestroy(): Promise<void> {
    await this.ingress.stop();
    if (this.stats.inFlight > 0) await new Promise<void>((r) => this.idleWaiters.push(r));
    this.stopped = true;
  }

  /**
   * One device message, start to outcome: counted as received and in flight
   * now, and as exactly one of accepted, rejected or dropped when it is done.
   * Never throws: whatever fails is a counted drop with its reason.
   */
  async ingest(packet: FromdevPacket): Promise<void> {
    if (this.stopped) {
      // The transport may still hand over a message it had read before it stopped.
      this.stats.receiveSettled(dropped('shutdown'));
      return;
    }
    // The cheap check first: most messages are telemetry, and shedding is rare.
    if (this.shedTelemetry() && looksLikeTelemetry(packet.payload)) {
      this.stats.receiveSettled(dropped('overload'));
      return;
    }
    this.stats.begin();
    let outcome: MessageOutcome = dropped('handler_failed');
    try {
      outcome = await this.process(packet);
    } catch (err) {
      const reason = failureReason(err);
      outcome = dropped(reason);
      this.logFailure(reason, packet.topic, err);
    } finally {
      this.stats.settle(outcome);
      if (this.stats.inFlight === 0) this.idleWaiters.splice(0).forEach((w) => w());
    }
  }

  on<T extends DeviceMessageType>(
    type: T,
    handler: DeviceMessageHandler<Extract<DeviceMessage, { type: T }>>,
  ): void {
    const list = this.handlers.get(type) ?? [];
    list.push(handler as DeviceMessageHandler);
    this.handlers.set(type, list);
  }

  private async process(packet: FromdevPacket): Promise<MessageOutcome> {
    const { topic, payload, receivedAtMs } = packet;
    const t = parseFromdevTopic(this.config.mqtt.topicRoot, topic);
    if (!t.ok) {
      this.rejections.record({
        reason: t.reason,
        topic,
        sn: undefined,
        detail: 'topic is not <root>/<12-digit sn>/fromdev',
        payload,
      });
      return rejected(t.reason);
    }
    const sn = t.sn;
    const r = decodeDeviceMessage(sn, payload, { maxBytes: this.config.ingest.maxPayloadBytes });
    if (!r.ok) {
      this.rejections.record({
        reason: r.reason,
        topic,
        sn,
        field: r.field,
        detail: r.detail,
        payload: r.reason === 'too_large' ? undefined : payload,
      });
      if (r.reason === 'serial_mismatch' && this.registry.get(sn)) {
        // Awaited like the handlers, so shutdown (in-flight count) covers it; add() never
        // throws, and repeats within the coalescing window cost no query.
        await this.events.add({
          sn,
          kind: 'serial_mismatch',
          detail: { payloadSn: r.payloadSn ?? null },
        });
      }
      return rejected(r.reason);
    }
    const msg = r.msg;
    let dev = this.registry.get(sn);
    if (!dev) {
      if (!this.registry.mayDiscover()) {
        this.rejections.record({
          reason: 'unknown_device',
          topic,
          sn,
          detail: `not registered, and ${this.config.ingest.pendingMax} concentrators are already pending (PENDING_MAX)`,
        });
        return rejected('unknown_device');
      }
      dev = await this.registry.resolve(sn);
    }
    if (msg.type === 'offline') {
      this.registry.markOffline(sn, 'will');
      return ACCEPTED;
    }
    this.registry.seen(dev, receivedAtMs);

    const clock = trustedTime(msg.ts, receivedAtMs);
    if (msg.ts !== undefined) {
      this.registry.setClockSkew(dev, clock.skewed, { deviceTs: msg.ts, serverMs: receivedAtMs });
    }
    if (dev.state !== 'managed' && MANAGED_ONLY.has(msg.type)) {
      this.rejections.record({
        reason: 'unknown_device',
        topic,
        sn,
        detail: `${msg.type} from a ${dev.state} concentrator is counted, not stored`,
      });
      return rejected('unknown_device');
    }
    const latch = new OutcomeLatch();
    if (msg.type === 'config_request') {
      // What the device says about itself (firmware, line count) is the registry's, recorded
      // before any feature handles the request; a failure counts like a failing handler's.
      try {
        await this.registry.recordConfigRequest(dev, msg);
      } catch (err) {
        const reason = failureReason(err);
        latch.set(dropped(reason));
        this.logFailure(reason, topic, err, msg.type);
      }
    }
    const ctx: DeviceMessageContext = {
      dev,
      msg,
      topic,
      at: clock.at,
      receivedAt: new Date(receivedAtMs),
      reject: (rej) => {
        if (latch.set(rejected(rej.reason))) this.rejections.record({ ...rej, topic, sn });
      },
      drop: (reason) => void latch.set(dropped(reason)),
    };
    for (const h of this.handlers.get(msg.type) ?? []) {
      try {
        await h(ctx);
      } catch (err) {
        // One failing feature must not stop the others, nor the transport; the
        // message counts as dropped (it was not fully applied).
        const reason = failureReason(err);
        latch.set(dropped(reason));
        this.logFailure(reason, topic, err, msg.type);
      }
    }
    return latch.outcome;
  }

  /** At most one line per drop reason and message type a minute: an outage must not flood the log. */
  private logFailure(reason: DropReason, topic: string, err: unknown, type = 'message'): void {
    const logged = this.failureLog.take(`${reason}|${type}`);
    if (!logged) return;
    const held = logged.held ? ` (${logged.held} more since the last line)` : '';
    this.log.error(
      `${type} on ${safeLogString(topic, 96)} dropped (${reason}): ${safeLogString((err as Error)?.message, 200)}${held}`,
    );
  }
}
