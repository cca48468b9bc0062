/**
 * A banner while a part os2 depends on is unreachable (the database, Docker): the dashboard keeps working
 * where it can, says what is down, and clears by itself once `/api/status` reports it back.
 */
import { useQuery } from "@tanstack/react-query";
import { z } from "zod";

const statusSchema = z.object({
  status: z.enum(["ok", "degraded"]),
  database: z.object({ ok: z.boolean() }),
  providers: z.array(z.object({ type: z.string(), ok: z.boolean() })),
});

const PROVIDER_NAMES: Record<string, string> = { "local-docker": "Docker", daytona: "Daytona" };

async function fetchStatus() {
  const response = await fetch("/api/status", { headers: { accept: "application/json" } });
  return statusSchema.parse(await response.json());
}

export function OutageBanner() {
  const status = useQuery({
    queryKey: ["system-status"],
    queryFn: fetchStatus,
    // Often while something is down, so the banner goes as soon as it is back; rarely otherwise.
    refetchInterval: (query) => (query.state.data?.status === "degraded" ? 3_000 : 15_000),
    retry: false,
  });
  const data = status.data;
  if (!data || data.status === "ok") return null;
  const down = [
    ...(data.database.ok ? [] : ["the database"]),
    ...data.providers
      .filter((provider) => !provider.ok)
      .map((provider) => PROVIDER_NAMES[provider.type] ?? provider.type),
  ];
  return (
    <div role="alert" className="border-b border-amber-200 bg-amber-50 px-4 py-2 text-center text-sm text-amber-900">
      <span className="font-medium">
        {capitalize(down.join(" and "))} {down.length === 1 ? "is" : "are"} unreachable.
      </span>{" "}
      {data.database.ok
        ? "Machines there cannot start or stop until it is back; os2 retries by itself."
        : "Changes cannot be saved until it is back; os2 retries by itself."}
    </div>
  );
}

function capitalize(text: string) {
  return text.charAt(0).toUpperCase() + text.slice(1);
}
