import type { INestApplication } from '@nestjs/common';
import { DocumentBuilder, OpenAPIObject, SwaggerModule } from '@nestjs/swagger';

const UI_PATH = 'docs';
const JSON_PATH = '/docs-json';

export function swaggerDocument(app: INestApplication): OpenAPIObject {
  const doc = new DocumentBuilder()
    .setTitle('Breaker concentrator backend')
    .setDescription(
      'Management API for MQTT smart-breaker concentrators: registry, telemetry, commands. ' +
        'Every /api/v1 path needs `Authorization: Bearer <token>`.',
    )
    .setVersion('1')
    .addBearerAuth()
    .build();
  return SwaggerModule.createDocument(app, doc);
}

/** Swagger UI at /docs, the OpenAPI document at /docs-json and /docs-yaml. */
export function setupSwagger(app: INestApplication, document = swaggerDocument(app)): void {
  SwaggerModule.setup(UI_PATH, app, document, { ui: false, jsonDocumentUrl: JSON_PATH });
  // Why the UI loads /docs-json rather than an embedded copy: @nestjs/swagger splices the copy into
  // swagger-ui-init.js with String.replace, so `$&`, `$'`... in any text corrupt it (nestjs/swagger#4119).
  // With no document, swaggerDoc drops out of the script's JSON and Swagger UI fetches swaggerUrl.
  const noEmbeddedDocument = () => undefined as unknown as OpenAPIObject;
  SwaggerModule.setup(UI_PATH, app, noEmbeddedDocument, { raw: false, swaggerUrl: JSON_PATH });
}
