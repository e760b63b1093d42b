import { Controller, Get, Inject, Res } from '@nestjs/common';
import { ApiOperation, ApiResponse, ApiTags } from '@nestjs/swagger';
import { InjectDataSource } from '@nestjs/typeorm';
import type { Response } from 'express';
import { DataSource } from 'typeorm';
import { APP_CONFIG, AppConfig } from '../config/app-config';
import { IngestStats } from '../ingestion/ingest-stats';
import { FromdevMqttServer } from '../mqtt/fromdev-server';
import { certWarning, configuredCerts } from './cert-expiry';

@ApiTags('health')
@Controller('health')
export class HealthController {
  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    private readonly mqtt: FromdevMqttServer,
    private readonly stats: IngestStats,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  @Get()
  @ApiOperation({ summary: 'Database and broker connection state (no token)' })
  @ApiResponse({
    status: 200,
    description: 'all parts up; status "warning" and `warnings` when a certificate nears expiry',
  })
  @ApiResponse({ status: 503, description: 'a part is down; `down` names it' })
  async health(@Res() res: Response): Promise<void> {
    const database = await this.checkDatabase();
    const broker = { up: this.mqtt.isConnected };
    const down = [...(database.up ? [] : ['database']), ...(broker.up ? [] : ['broker'])];
    // Expiring certificates warn but keep 200: they still work, and an
    // orchestrator must not restart the service over them.
    const warnDays = this.config.security.certWarnDays;
    const tls = configuredCerts(this.config).map((c) => ({
      ...c,
      warning: certWarning(c, warnDays),
    }));
    const warnings = tls.flatMap((c) => (c.warning ? [c.warning] : []));
    res.status(down.length ? 503 : 200).json({
      status: down.length ? 'error' : warnings.length ? 'warning' : 'ok',
      down,
      warnings,
      database,
      broker,
      ...(tls.length ? { tls } : {}),
      ingest: this.stats.snapshot(),
    });
  }

  private async checkDatabase(): Promise<{ up: boolean; error?: string }> {
    try {
      await Promise.race([
        this.dataSource.query('SELECT 1'),
        new Promise((_, reject) => setTimeout(() => reject(new Error('timeout')), 2000).unref()),
      ]);
      return { up: true };
    } catch (err) {
      return { up: false, error: (err as Error).message };
    }
  }
}
