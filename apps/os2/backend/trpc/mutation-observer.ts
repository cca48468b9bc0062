/**
 * Things that happen after a mutation succeeds: realtime invalidations and analytics. Kept behind one
 * interface so the tRPC layer does not know about either.
 */
export type MutationOutcome = {
  path: string;
  input: unknown;
  output: unknown;
  userId: string | null;
  organizationId?: string;
  projectId?: string;
  invalidates: string[];
};

export type MutationObserver = { onMutationSuccess(outcome: MutationOutcome): void };

export function combineObservers(...observers: MutationObserver[]): MutationObserver {
  return {
    onMutationSuccess(outcome) {
      for (const observer of observers) observer.onMutationSuccess(outcome);
    },
  };
}
