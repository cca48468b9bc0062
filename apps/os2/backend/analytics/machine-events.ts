/**
 * Machine lifecycle events. They happen outside any request (a machine becomes ready while the provider
 * polls), so they are captured from the machine service rather than from the tracked-mutation middleware.
 */
import type { ServerAnalytics } from "./server-analytics.ts";

/**
 * Who the event is attributed to. With a user it joins that person; without one (a background retry), the
 * organization id stands in as distinct id and no person profile is created for it.
 */
export type MachineEventActor =
  { userId: string; organizationId?: string } | { userId?: undefined; organizationId: string };

export type MachineEventInput = MachineEventActor & {
  machineId: string;
  projectId?: string;
  /** The provider type that ran the machine, e.g. `local-docker`, `daytona`. */
  provider: string;
  machineType?: string;
};

export type MachineReadyInput = MachineEventInput & {
  /** From the create request to the daemon answering its health check. */
  timeToReadyMs: number;
};

export type MachineFailedInput = MachineEventInput & {
  /**
   * A short, fixed reason such as a `ProviderError` kind (`timeout`, `unavailable`…). Not a raw vendor
   * message: those can quote commands or environments, and a property's value is not name-filtered.
   */
  reason: string;
  timeToFailureMs?: number;
};

/** Reasons are labels for grouping in PostHog; anything longer is a message that slipped through. */
const MAX_REASON_LENGTH = 120;

export function captureMachineReady(analytics: ServerAnalytics, input: MachineReadyInput): void {
  capture(analytics, input, "machine_ready", { time_to_ready_ms: Math.round(input.timeToReadyMs) });
}

export function captureMachineFailed(analytics: ServerAnalytics, input: MachineFailedInput): void {
  capture(analytics, input, "machine_failed", {
    reason: input.reason.slice(0, MAX_REASON_LENGTH),
    ...(input.timeToFailureMs === undefined ? {} : { time_to_failure_ms: Math.round(input.timeToFailureMs) }),
  });
}

function capture(
  analytics: ServerAnalytics,
  input: MachineEventInput,
  event: string,
  properties: Record<string, unknown>,
): void {
  const distinctId = input.userId ?? input.organizationId;
  if (distinctId === undefined) return; // unreachable by type; keeps the code free of non-null assertions
  analytics.capture({
    distinctId,
    event,
    properties: {
      machine_id: input.machineId,
      provider: input.provider,
      ...(input.machineType === undefined ? {} : { machine_type: input.machineType }),
      ...(input.userId === undefined ? { $process_person_profile: false } : {}),
      ...properties,
    },
    groups: { organization: input.organizationId, project: input.projectId },
  });
}
