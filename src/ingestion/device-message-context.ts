import { CachedConcentrator } from '../concentrators/concentrator-registry.service';
import { DeviceMessage } from '../protocol/device-messages';
import type { RejectionInput } from './rejections.service';
import type { DropReason } from './message-outcome';

/** What a handler of an accepted device message gets. */
export interface DeviceMessageContext<M extends DeviceMessage = DeviceMessage> {
  dev: CachedConcentrator;
  msg: M;
  topic: string;
  /** Device time when trusted, else the server's receive time (protocol §5). */
  at: Date;
  receivedAt: Date;
  /**
   * Refuses the message under a protocol rule only a handler can check (e.g.
   * an ack for an unknown command): recorded like every rejection, and the
   * message's outcome, unless another handler decided it first.
   */
  reject(r: Omit<RejectionInput, 'topic' | 'sn'>): void;
  /** The service could not apply the message (e.g. the telemetry buffer is full). */
  drop(reason: DropReason): void;
}

export type DeviceMessageHandler<M extends DeviceMessage = DeviceMessage> = (
  ctx: DeviceMessageContext<M>,
) => void | Promise<void>;
