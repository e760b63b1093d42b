import { Inject, Injectable } from '@nestjs/common';
import { ConcentratorsService } from '../concentrators/concentrators.service';
import { CredentialsService } from '../credentials/credentials.service';
import { APP_CONFIG, AppConfig } from '../config/app-config';
import { hashPasswordSync } from '../credentials/password-hash';
import { BackendIdentity, DEFAULT_BACKEND_USER } from './backend-identity';
import { aclFile, fitsMosquittoFiles, passwdFile } from './mosquitto-files';
import { TopicAcl } from '../protocol/topic-acl';

/**
 * mosquitto's password_file and acl_file from the registry: managed
 * concentrators that have a password, plus the backend's user. Pending ones
 * are left out (mosquitto has no open enrollment).
 */
@Injectable()
export class MosquittoExportService {
  private readonly acl: TopicAcl;
  private backendHash?: string;

  constructor(
    private readonly concentrators: ConcentratorsService,
    private readonly credentials: CredentialsService,
    private readonly backend: BackendIdentity,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {
    this.acl = new TopicAcl(config.mqtt.topicRoot);
  }

  /** Managed concentrators that have a password: pending ones are left out (no open enrollment in mosquitto). */
  private async devices(): Promise<{ sn: string; hash: string }[]> {
    const managed = new Set(await this.concentrators.managedSerials());
    return (await this.credentials.hashes()).filter((d) => managed.has(d.sn));
  }

  async passwd(): Promise<string> {
    const notes: string[] = [];
    const entries = [];
    const user = this.backend.username;
    const password = this.backend.exportablePassword;
    if (user === undefined || password === undefined) {
      notes.push(
        `backend user left out: ${user === undefined ? 'MQTT_USERNAME' : 'MQTT_PASSWORD'} is not ` +
          'configured; add it with mosquitto_passwd',
      );
    } else if (!fitsMosquittoFiles(user)) {
      notes.push(
        'backend user left out: MQTT_USERNAME contains a character mosquitto files cannot hold',
      );
    } else {
      // Hashed once per process: the same password, and a stable file between exports.
      this.backendHash ??= hashPasswordSync(password, this.config.security.passwordIterations);
      entries.push({ username: user, hash: this.backendHash });
    }
    for (const d of await this.devices()) entries.push({ username: d.sn, hash: d.hash });
    return passwdFile(entries, notes);
  }

  async aclfile(): Promise<string> {
    const notes: string[] = [];
    let user = this.backend.username;
    if (user === undefined || !fitsMosquittoFiles(user)) {
      notes.push(
        `MQTT_USERNAME is ${user === undefined ? 'not set' : 'unusable here'}: the backend's rules ` +
          `are written for "${DEFAULT_BACKEND_USER}"`,
      );
      user = DEFAULT_BACKEND_USER;
    }
    const devices = (await this.devices()).map((d) => d.sn);
    return aclFile(this.acl, user, devices, notes);
  }
}
