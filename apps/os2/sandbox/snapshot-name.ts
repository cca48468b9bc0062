/**
 * Daytona snapshot names: `<stage>--<YYYYMMDD-HHMMSS>` in UTC. The resolver picks the newest active
 * snapshot whose name starts with `<stage>--` (backend/providers/daytona/snapshot-resolver.ts), so the
 * double dash separates the stage from the timestamp even for stages that contain dashes (`dev-ann`).
 */
export function snapshotName(stage: string, date: Date): string {
  if (!stage) throw new Error("snapshotName: the stage is empty");
  const pad = (value: number) => String(value).padStart(2, "0");
  const day = `${date.getUTCFullYear()}${pad(date.getUTCMonth() + 1)}${pad(date.getUTCDate())}`;
  const time = `${pad(date.getUTCHours())}${pad(date.getUTCMinutes())}${pad(date.getUTCSeconds())}`;
  return `${stage}--${day}-${time}`;
}
