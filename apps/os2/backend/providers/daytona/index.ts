/** The daytona provider's public surface: the provider, its preview-token cache, the snapshot resolver. */
export { type Clock, systemClock } from "./clock";
export {
  createUnconfiguredDaytonaProvider,
  DAYTONA_NOT_CONFIGURED_REASON,
  DaytonaProvider,
  type DaytonaProviderOptions,
  DEFAULT_DAYTONA_API_URL,
  PREVIEW_TOKEN_HEADER,
  SKIP_PREVIEW_WARNING_HEADER,
  toMachineState,
} from "./daytona-provider";
export { mapDaytonaError } from "./map-daytona-error";
export {
  fetchThroughPreview,
  type PreviewEndpointSource,
  PreviewTokenRejectedError,
  withPreviewTokenRefresh,
} from "./preview-request";
export { InMemoryPreviewTokenStore, type PreviewToken, type PreviewTokenStore } from "./preview-token-store";
export {
  defaultSnapshotPrefix,
  isUncachedSnapshotPrefix,
  type ResolvedSnapshot,
  SNAPSHOT_CACHE_TTL_MS,
  SnapshotNotFoundError,
  SnapshotResolver,
  type SnapshotResolverOptions,
} from "./snapshot-resolver";
