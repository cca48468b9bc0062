/** Dates shown in tables: relative when recent, a short date otherwise; the exact time goes in a title. */
const relative = new Intl.RelativeTimeFormat(undefined, { numeric: "auto" });
const short = new Intl.DateTimeFormat(undefined, { year: "numeric", month: "short", day: "numeric" });
const full = new Intl.DateTimeFormat(undefined, { dateStyle: "medium", timeStyle: "short" });

const UNITS: Array<[Intl.RelativeTimeFormatUnit, number]> = [
  ["second", 60],
  ["minute", 60],
  ["hour", 24],
  ["day", 7],
];

export function formatRelative(date: Date | string | null | undefined, now = Date.now()): string {
  if (!date) return "never";
  const value = typeof date === "string" ? new Date(date) : date;
  let amount = (value.getTime() - now) / 1000;
  for (const [unit, size] of UNITS) {
    if (Math.abs(amount) < size) return relative.format(Math.round(amount), unit);
    amount /= size;
  }
  return short.format(value);
}

export function formatFull(date: Date | string | null | undefined): string {
  if (!date) return "";
  return full.format(typeof date === "string" ? new Date(date) : date);
}
