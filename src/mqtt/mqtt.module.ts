import { Module } from '@nestjs/common';
import { APP_CONFIG, AppConfig } from '../config/app-config';
import { FromdevMqttServer } from './fromdev-server';
import { mqttClientOptions } from './mqtt-client-options';
import { TodevPublisher } from './todev-publisher.service';

@Module({
  providers: [
    {
      provide: FromdevMqttServer,
      inject: [APP_CONFIG],
      useFactory: (config: AppConfig) => {
        const url = config.mqtt.url;
        if (!url) throw new Error('MQTT URL not resolved (embedded broker not started?)');
        const topic = FromdevMqttServer.topicFor(config.mqtt.topicRoot, config.mqtt.sharedGroup);
        const options = { url, ...mqttClientOptions(config.mqtt, url) };
        return new FromdevMqttServer(
          options as ConstructorParameters<typeof FromdevMqttServer>[0],
          topic,
        );
      },
    },
    TodevPublisher,
  ],
  exports: [FromdevMqttServer, TodevPublisher],
})
export class MqttModule {}
