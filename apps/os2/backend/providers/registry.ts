/**
 * The machine providers of this deployment, one per machine type, built once at the entry point.
 */
import { MACHINE_TYPES, type MachineProvider, type MachineType } from "./types.ts";

export type ProviderRegistry = Record<MachineType, MachineProvider>;

export function getProvider(registry: ProviderRegistry, type: string): MachineProvider {
  const provider = (registry as Record<string, MachineProvider | undefined>)[type];
  if (!provider) throw new Error(`Unknown machine type "${type}". Known types: ${MACHINE_TYPES.join(", ")}`);
  return provider;
}
