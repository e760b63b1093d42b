import { Controller, Get, Inject, Res } from '@nestjs/common';
import { ApiOperation, ApiResponse, ApiTags } from '@nestjs/swagger';
import { InjectDataSource } from '@nestjs/typeorm';
import type { Response } from 'express';
import { DataSource } from 'typeorm';
import { APP_CONFIG, AppConfig } from '../config/app-config';
import { IngestStats } from '../ingestion/ingest-stats';
import { FromdevMqttServer } from '../mqtt/fromdev-server';
import { certExpiry } from './cert-expiry';

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
  @ApiResponse({ status: 200, description: 'all parts up' })
  @ApiResponse({ status: 503, description: 'a part is down; `down` names it' })
  async health(@Res() res: Response): Promise<void> {
    const database = await this.checkDatabase();
    const broker = { up: this.mqtt.isConnected };
    const down = [...(database.up ? [] : ['database']), ...(broker.up ? [] : ['broker'])];
    const m = this.config.mqtt;
    const tls = (
      [
        ['MQTT_CA_FILE', m.caFile],
        ['MQTT_CERT_FILE', m.certFile],
      ] as const
    )
      .filter(([, f]) => f)
      .map(([v, f]) => certExpiry(v, f!));
    res.status(down.length ? 503 : 200).json({
      status: down.length ? 'error' : 'ok',
      down,
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
