import { applyDecorators } from '@nestjs/common';
import {
  ApiBearerAuth,
  ApiForbiddenResponse,
  ApiTags,
  ApiUnauthorizedResponse,
} from '@nestjs/swagger';

/** Swagger metadata every bearer-protected /api/v1 controller shares. */
export const ApiV1 = (tag: string) =>
  applyDecorators(
    ApiTags(tag),
    ApiBearerAuth(),
    ApiUnauthorizedResponse({ description: 'missing or invalid token' }),
    ApiForbiddenResponse({ description: 'role too low' }),
  );
