export default async function globalTeardown(): Promise<void> {
  const stops = (globalThis as { __e2eStops?: (() => Promise<void>)[] }).__e2eStops ?? [];
  for (const s of stops.reverse()) await s();
}
