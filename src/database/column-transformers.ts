import { ValueTransformer } from 'typeorm';

/** bigint arrives from pg as a string; the values stored this way (image sizes, ack codes) stay far below 2^53. */
export const BIGINT_NUMBER: ValueTransformer = {
  to: (v: number | null | undefined) => v,
  from: (v: string | null) => (v === null ? null : Number(v)),
};
