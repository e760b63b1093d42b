import { Inject, Injectable, Optional } from '@nestjs/common';
import { APP_CONFIG, AppConfig } from '../config/app-config';
import { sameSecret } from '../lib/secret';
import { EMBEDDED_BROKER_AUTH, EmbeddedBrokerAuth } from '../embedded/broker-auth';

/** The protocol's conventional name for the backend's MQTT user. */
export const DEFAULT_BACKEND_USER = 'admin_client';

/** The backend's own MQTT user (MQTT_USERNAME / MQTT_PASSWORD), as brokers should know it. */
@Injectable()
export class BackendIdentity {
  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    @Optional()
    @Inject(EMBEDDED_BROKER_AUTH)
    private readonly brokerAuth: EmbeddedBrokerAuth | null = null,
  ) {}

  get username(): string | undefined {
    return this.config.mqtt.username;
  }

  /** The password an external broker may be given; not one made up for the embedded broker. */
  get exportablePassword(): string | undefined {
    if (this.brokerAuth?.backendPasswordGenerated) return undefined;
    return this.config.mqtt.password;
  }

  isBackendUser(username: string | undefined): boolean {
    return username !== undefined && username === this.config.mqtt.username;
  }

  /** Timing-safe; false whenever no password is configured. */
  checkPassword(password: string | Buffer | undefined): boolean {
    const expected = this.config.mqtt.password;
    if (expected === undefined || password === undefined) return false;
    return sameSecret(password, expected);
  }
}
