import { useEffect, useState } from "react";

import { formatRelative } from "../../lib/format.ts";

/** Re-renders the caller every `intervalMs`, so relative ages ("2 minutes ago") keep counting. */
export function useTick(intervalMs = 15_000): void {
  const [, setTick] = useState(0);
  useEffect(() => {
    const timer = setInterval(() => setTick((tick) => tick + 1), intervalMs);
    return () => clearInterval(timer);
  }, [intervalMs]);
}

/**
 * `formatRelative` for things that already happened: a server clock slightly ahead of the browser's must not
 * turn "now" into "in 2 seconds".
 */
export function formatPast(date: Date | string): string {
  const time = typeof date === "string" ? new Date(date).getTime() : date.getTime();
  return formatRelative(date, Math.max(Date.now(), time));
}
