import { CachedDevice } from '../devices/device-registry.service';
import { DeviceMessage } from '../protocol/device-messages';

/** What a handler of an accepted device message gets. */
export interface DeviceMessageContext<M extends DeviceMessage = DeviceMessage> {
  dev: CachedDevice;
  msg: M;
  topic: string;
  /** Device time when trusted, else the server's receive time (protocol §5). */
  at: Date;
  receivedAt: Date;
}

export type DeviceMessageHandler<M extends DeviceMessage = DeviceMessage> = (
  ctx: DeviceMessageContext<M>,
) => void | Promise<void>;
