import { Inject, Injectable, Logger, Optional } from '@nestjs/common';
import { APP_CONFIG, AppConfig } from '../config/app-config';
import { DeviceGate } from './device-gate';
import { sameSecret } from '../lib/secret';
import { SecurityMetrics } from '../metrics/security-metrics.service';
import { BackendIdentity } from './backend-identity';
import { isDeviceUsername, Principal, TopicAcl } from '../protocol/topic-acl';

export interface EmqxAuthnResult {
  result: 'allow' | 'deny';
  is_superuser: false;
}
export interface EmqxAuthzResult {
  result: 'allow' | 'deny';
}

const AUTHN_DENY: EmqxAuthnResult = { result: 'deny', is_superuser: false };
const AUTHN_ALLOW: EmqxAuthnResult = { result: 'allow', is_superuser: false };

function field(body: unknown, name: string): string | undefined {
  if (typeof body !== 'object' || body === null) return undefined;
  const v = (body as Record<string, unknown>)[name];
  return typeof v === 'string' ? v : undefined;
}

/** EMQX renders `${retain}` into a JSON string or a boolean, depending on the template. */
function retainFlag(body: unknown): boolean | undefined {
  if (typeof body !== 'object' || body === null) return undefined;
  const v = (body as Record<string, unknown>).retain;
  if (v === true || v === 'true' || v === 1 || v === '1') return true;
  if (v === false || v === 'false' || v === 0 || v === '0') return false;
  return undefined;
}

class Denied extends Error {}

/**
 * EMQX 5 HTTP authenticator and authorizer. Every answer is an explicit
 * allow or deny (never "ignore", never an error status, which EMQX would read
 * as "ignore" and fall through); anything unexpected is a deny. Nobody is ever
 * a superuser: the backend's user too goes through the ACL.
 */
@Injectable()
export class EmqxHooksService {
  private readonly log = new Logger('EmqxHooks');
  private readonly acl: TopicAcl;

  constructor(
    private readonly gate: DeviceGate,
    private readonly backend: BackendIdentity,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    @Optional()
    @Inject(SecurityMetrics)
    private readonly metrics: SecurityMetrics | null = null,
  ) {
    this.acl = new TopicAcl(config.mqtt.topicRoot);
  }

  async authn(body: unknown, secret: string | undefined): Promise<EmqxAuthnResult> {
    return this.guarded(AUTHN_DENY, async () => {
      this.checkSecret(secret);
      const username = field(body, 'username');
      const password = field(body, 'password');
      if (this.backend.isBackendUser(username)) {
        if (!this.backend.checkPassword(password)) throw new Denied('bad_password');
        return AUTHN_ALLOW;
      }
      const sn = this.deviceIdentity(body);
      const check = await this.gate.checkDevice(
        sn,
        password ? Buffer.from(password, 'utf8') : undefined,
      );
      if (!check.ok) throw new Denied(check.reason);
      return AUTHN_ALLOW;
    });
  }

  async authz(body: unknown, secret: string | undefined): Promise<EmqxAuthzResult> {
    return this.guarded<EmqxAuthzResult>({ result: 'deny' }, async () => {
      this.checkSecret(secret);
      const username = field(body, 'username');
      const topic = field(body, 'topic');
      const action = field(body, 'action');
      if (!topic) throw new Denied('bad_request');
      let principal: Principal;
      if (this.backend.isBackendUser(username)) {
        principal = { kind: 'backend' };
      } else {
        const sn = this.deviceIdentity(body);
        if (!(await this.gate.mayAct(sn))) throw new Denied('not_managed');
        principal = { kind: 'device', sn };
      }
      let ok: boolean;
      if (action === 'publish') {
        const retain = retainFlag(body);
        if (retain === undefined) throw new Denied('bad_request');
        ok = this.acl.mayPublish(principal, topic, retain);
      } else if (action === 'subscribe') {
        ok = this.acl.maySubscribe(principal, topic);
      } else {
        throw new Denied('bad_request');
      }
      if (!ok) throw new Denied(action === 'publish' ? 'acl_publish' : 'acl_subscribe');
      return { result: 'allow' };
    });
  }

  /** A device must log in as its serial with the serial as client id. */
  private deviceIdentity(body: unknown): string {
    const username = field(body, 'username');
    if (!isDeviceUsername(username)) throw new Denied('bad_username');
    if (field(body, 'clientid') !== username) throw new Denied('client_id_mismatch');
    return username;
  }

  private checkSecret(given: string | undefined): void {
    // No secret configured means the hooks are off: everything is denied.
    const secret = this.config.security.brokerHookSecret;
    if (!secret) throw new Denied('hooks_disabled');
    if (given === undefined || !sameSecret(given, secret)) {
      throw new Denied('hook_secret');
    }
  }

  private async guarded<T>(deny: T, fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (err) {
      const reason = err instanceof Denied ? err.message : 'error';
      if (!(err instanceof Denied))
        this.log.error(`hook failed, denying: ${(err as Error).message}`);
      this.metrics?.brokerAuthFailure(reason);
      return deny;
    }
  }
}
