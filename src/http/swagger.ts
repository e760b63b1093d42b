import type { INestApplication } from '@nestjs/common';
import { DocumentBuilder, OpenAPIObject, SwaggerModule } from '@nestjs/swagger';
import { TIMESTAMP_MAX, TIMESTAMP_MIN } from '../common/timestamp';
import { MAX_BODY_DEPTH } from './input-rules';

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
  return documentInputRules(SwaggerModule.createDocument(app, doc));
}

const INPUT_RULES_400 =
  'malformed input (the message names the parameter or field): a value breaking its rule, an ' +
  `integer outside its range, a date that is not RFC 3339 with a zone from ${TIMESTAMP_MIN} to ` +
  `before ${TIMESTAMP_MAX}, a control character in any text, a \`__proto__\`/\`constructor\`/` +
  `\`prototype\` key, an unknown body field, or JSON nested deeper than ${MAX_BODY_DEPTH} levels`;

/**
 * Every operation that takes input can answer 400 under the global input
 * rules (docs/security.md), so it is stated once here rather than on each
 * route; a route's own 400 description stays. The EMQX hooks never answer
 * 400 (always 200 allow/deny).
 */
export function documentInputRules(doc: OpenAPIObject): OpenAPIObject {
  for (const [path, item] of Object.entries(doc.paths)) {
    if (path.startsWith('/broker/emqx')) continue;
    for (const method of ['get', 'put', 'post', 'delete', 'patch'] as const) {
      const op = item[method];
      if (!op || (!op.requestBody && !(op.parameters ?? []).length)) continue;
      op.responses['400'] ??= { description: INPUT_RULES_400 };
    }
  }
  return doc;
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
