/** The `local-docker` machine provider: containers on a local Docker Engine. */
export { LocalDockerProvider, type LocalDockerProviderConfig } from "./local-docker-provider";
export { resolveDockerHost, DEFAULT_DOCKER_HOST } from "./docker-host";
export { ENV_VAR_NAME_PATTERN, containerNameFor } from "./container-config";
