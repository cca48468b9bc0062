/**
 * Request and response shapes of Daytona's REST API as the stand-in speaks them. They mirror the models of
 * `@daytona/api-client` 0.218 (the client `@daytonaio/sdk` uses; same paths and types as the published
 * `@daytonaio/api-client`): `Sandbox`, `SandboxListItem`, `ListSandboxesResponse`, `CreateSandbox`,
 * `SnapshotDto`, `PaginatedSnapshots`, `CreateSnapshot`, `CreateBuildInfo`, `PortPreviewUrl`,
 * `StorageAccessDto`, `SandboxLabels`, `Url`. That package is not a direct dependency of os2 (pnpm keeps
 * it inside the SDK), so the shapes are restated here; request bodies are parsed with zod because a
 * stand-in that accepted anything would hide client bugs.
 */
import { z } from "zod";

export type SandboxState =
  | "creating"
  | "starting"
  | "started"
  | "stopping"
  | "stopped"
  | "archiving"
  | "archived"
  | "restoring"
  | "destroying"
  | "destroyed"
  | "error"
  | "build_failed";

export type SandboxDto = {
  id: string;
  organizationId: string;
  name: string;
  snapshot?: string;
  user: string;
  env: Record<string, string>;
  labels: Record<string, string>;
  public: boolean;
  networkBlockAll: boolean;
  target: string;
  cpu: number;
  gpu: number;
  memory: number;
  disk: number;
  state: SandboxState;
  desiredState?: "started" | "stopped" | "archived" | "destroyed";
  errorReason?: string;
  recoverable?: boolean;
  backupState: "None";
  autoStopInterval: number;
  autoArchiveInterval: number;
  autoDeleteInterval: number;
  createdAt: string;
  updatedAt: string;
  toolboxProxyUrl: string;
};

export type SnapshotState = "pending" | "building" | "pulling" | "active" | "error" | "build_failed";

export type SnapshotDto = {
  id: string;
  organizationId: string;
  general: boolean;
  name: string;
  imageName?: string;
  state: SnapshotState;
  size: number | null;
  entrypoint: string[] | null;
  cpu: number;
  gpu: number;
  mem: number;
  disk: number;
  errorReason: string | null;
  createdAt: string;
  updatedAt: string;
  lastUsedAt: string | null;
  buildInfo?: {
    dockerfileContent?: string;
    contextHashes?: string[];
    createdAt: string;
    updatedAt: string;
    snapshotRef: string;
  };
  regionIds: string[];
  sourceSandboxId: string | null;
};

export const createSandboxSchema = z.object({
  name: z.string().optional(),
  snapshot: z.string().optional(),
  user: z.string().optional(),
  env: z.record(z.string(), z.string()).optional(),
  labels: z.record(z.string(), z.string()).optional(),
  public: z.boolean().optional(),
  target: z.string().optional(),
  cpu: z.number().optional(),
  memory: z.number().optional(),
  disk: z.number().optional(),
  autoStopInterval: z.number().int().min(0).optional(),
  autoArchiveInterval: z.number().int().min(0).optional(),
  autoDeleteInterval: z.number().int().optional(),
  buildInfo: z.object({ dockerfileContent: z.string(), contextHashes: z.array(z.string()).optional() }).optional(),
});

export const createSnapshotSchema = z.object({
  name: z.string().min(1),
  imageName: z.string().optional(),
  entrypoint: z.array(z.string()).optional(),
  cpu: z.number().optional(),
  gpu: z.number().optional(),
  memory: z.number().optional(),
  disk: z.number().optional(),
  buildInfo: z.object({ dockerfileContent: z.string(), contextHashes: z.array(z.string()).optional() }).optional(),
  regionId: z.string().optional(),
});

export const replaceLabelsSchema = z.object({ labels: z.record(z.string(), z.string()) });

/** NestJS-style error body, as Daytona's API sends it; the SDK turns `message` into the error text. */
export function errorBody(statusCode: number, message: string) {
  const error = { 400: "Bad Request", 401: "Unauthorized", 404: "Not Found", 409: "Conflict" }[statusCode] ?? "Error";
  return { statusCode, message, error };
}
