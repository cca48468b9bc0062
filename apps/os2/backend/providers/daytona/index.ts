/** The daytona provider's public surface: the provider, its preview-token cache, the snapshot resolver. */
export {
  DaytonaProvider,
  DAYTONA_NOT_CONFIGURED_REASON,
  DEFAULT_DAYTONA_API_URL,
  PREVIEW_TOKEN_HEADER,
  SKIP_PREVIEW_WARNING_HEADER,
  createUnconfiguredDaytonaProvider,
  toMachineState,
  type DaytonaProviderOptions,
} from "./daytona-provider";
export { InMemoryPreviewTokenStore, type PreviewToken, type PreviewTokenStore } from "./preview-token-store";
export {
  PreviewTokenRejectedError,
  fetchThroughPreview,
  withPreviewTokenRefresh,
  type PreviewEndpointSource,
} from "./preview-request";
export {
  SNAPSHOT_CACHE_TTL_MS,
  SnapshotNotFoundError,
  SnapshotResolver,
  defaultSnapshotPrefix,
  isUncachedSnapshotPrefix,
  type ResolvedSnapshot,
  type SnapshotResolverOptions,
} from "./snapshot-resolver";
export { mapDaytonaError } from "./map-daytona-error";
export { systemClock, type Clock } from "./clock";
