/** The `local-docker` machine provider: containers on a local Docker Engine. */
export { containerNameFor, ENV_VAR_NAME_PATTERN } from "./container-config";
export { DEFAULT_DOCKER_HOST, resolveDockerHost } from "./docker-host";
export { LocalDockerProvider, type LocalDockerProviderConfig } from "./local-docker-provider";
