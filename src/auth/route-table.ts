import { Injectable, Logger, OnApplicationBootstrap, RequestMethod } from '@nestjs/common';
import { METHOD_METADATA, PATH_METADATA } from '@nestjs/common/constants';
import { DiscoveryService, MetadataScanner, Reflector } from '@nestjs/core';
import { publicRoute } from './access-routes';
import { MIN_ROLE_KEY, Role } from '../identity/roles';

export interface HttpRoute {
  method: string;
  /** As registered, e.g. /api/v1/concentrators/:sn/switch */
  path: string;
  controller: string;
  handler: string;
  /** Declared with @MinRole; undefined = not declared (the guard then demands admin). */
  minRole?: Role;
  public: boolean;
}

/**
 * Every HTTP route of the running app, read from the controllers' metadata
 * (the same the router uses, Swagger-excluded routes included). The access
 * test walks it; at start a route without @MinRole is reported.
 */
@Injectable()
export class RouteTable implements OnApplicationBootstrap {
  private readonly log = new Logger('Access');

  constructor(
    private readonly discovery: DiscoveryService,
    private readonly scanner: MetadataScanner,
    private readonly reflector: Reflector,
  ) {}

  onApplicationBootstrap(): void {
    for (const r of this.routes()) {
      if (!r.public && !r.minRole) {
        this.log.error(
          `${r.method} ${r.path} (${r.controller}.${r.handler}) declares no @MinRole: admin only until it does`,
        );
      }
    }
  }

  routes(): HttpRoute[] {
    const out: HttpRoute[] = [];
    for (const wrapper of this.discovery.getControllers()) {
      const metatype = wrapper.metatype;
      const instance = wrapper.instance as object | undefined;
      if (!metatype || !instance) continue;
      const prefixes = asArray(Reflect.getMetadata(PATH_METADATA, metatype) as unknown);
      const proto = Object.getPrototypeOf(instance) as object;
      for (const name of this.scanner.getAllMethodNames(proto)) {
        const handler = (proto as Record<string, unknown>)[name] as (...a: unknown[]) => unknown;
        const method = Reflect.getMetadata(METHOD_METADATA, handler) as RequestMethod | undefined;
        const paths = Reflect.getMetadata(PATH_METADATA, handler) as unknown;
        if (method === undefined || paths === undefined) continue; // not an HTTP handler
        const minRole = this.reflector.getAllAndOverride<Role | undefined>(MIN_ROLE_KEY, [
          handler,
          metatype,
        ]);
        for (const prefix of prefixes) {
          for (const p of asArray(paths)) {
            const path = joinPath(prefix, p);
            out.push({
              method: RequestMethod[method],
              path,
              controller: metatype.name,
              handler: name,
              minRole,
              public: publicRoute(path.toLowerCase()) !== undefined,
            });
          }
        }
      }
    }
    return out;
  }
}

function asArray(v: unknown): string[] {
  if (v === undefined) return [''];
  return (Array.isArray(v) ? v : [v]).map(String);
}

function joinPath(a: string, b: string): string {
  const joined = `/${a}/${b}`.replace(/\/+/g, '/');
  return joined.length > 1 ? joined.replace(/\/$/, '') : joined;
}
