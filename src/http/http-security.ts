import type { INestApplication } from '@nestjs/common';
import type { NextFunction, Request, Response } from 'express';
import helmet from 'helmet';
import { APP_CONFIG, AppConfig } from '../config/app-config';

/**
 * Security headers (helmet) and proxy trust; installed first in configureApp.
 * The CSP keeps helmet's strict defaults (scripts from 'self' only: Swagger UI
 * loads its scripts as files, its inline <style> is covered by style-src)
 * minus upgrade-insecure-requests, which would break /docs when the service
 * is reached over plain HTTP on an internal network.
 */
export function applyHttpSecurity(app: INestApplication): void {
  const config = app.get<AppConfig>(APP_CONFIG);
  const express = app.getHttpAdapter().getInstance() as { set(k: string, v: unknown): void };
  // req.ip (rate limits, audit) is the socket address unless a proxy is trusted.
  if (config.http.trustProxy !== undefined) express.set('trust proxy', config.http.trustProxy);
  app.use(
    helmet({
      contentSecurityPolicy: { directives: { upgradeInsecureRequests: null } },
      // Not for sibling hosts: the API host must not decide for other subdomains.
      strictTransportSecurity: { maxAge: 15_552_000, includeSubDomains: false },
    }),
  );
  // API answers carry secrets (tokens, device passwords) and live state: never cache them.
  app.use('/api', (_req: Request, res: Response, next: NextFunction) => {
    res.setHeader('Cache-Control', 'no-store');
    next();
  });
}
