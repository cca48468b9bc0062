/** How limits read to people: CPUs from thousandths, memory from MiB. Shared by the dialog and the pages. */
export type Limits = { cpuMillis: number; memoryMb: number; pids: number; diskMb?: number | null };

export function formatCpus(cpuMillis: number): string {
  const cpus = cpuMillis / 1000;
  return `${Number.isInteger(cpus) ? cpus : cpus.toFixed(cpus < 1 ? 2 : 1)} CPU${cpus === 1 ? "" : "s"}`;
}

export function formatMemory(memoryMb: number): string {
  if (memoryMb % 1024 === 0) return `${memoryMb / 1024} GiB`;
  if (memoryMb > 1024) return `${(memoryMb / 1024).toFixed(1)} GiB`;
  return `${memoryMb} MiB`;
}

export function formatLimits(limits: Limits): string {
  const parts = [formatCpus(limits.cpuMillis), formatMemory(limits.memoryMb), `${limits.pids} processes`];
  if (limits.diskMb) parts.push(`${formatMemory(limits.diskMb)} disk`);
  return parts.join(" · ");
}
