/**
 * `/orgs/$org/projects/$project/machines`: placeholder until the machines issue lands.
 *
 * Replace this file freely: router.tsx mounts whatever `projectMachinesRouteTree` is, so a machine detail
 * page can be added here as a child route (`projectMachinesRoute.addChildren([...])`) without touching the
 * router. Use `useProject()` / `useProjectInput()` from ./project.tsx for the current project.
 */
import { createRoute } from "@tanstack/react-router";
import { Card, EmptyState } from "../components/ui/misc.tsx";
import { projectRoute } from "./project.tsx";

export const projectMachinesRoute = createRoute({
  getParentRoute: () => projectRoute,
  path: "machines",
  component: ProjectMachinesPage,
});

export const projectMachinesRouteTree = projectMachinesRoute;

function ProjectMachinesPage() {
  return (
    <Card>
      <EmptyState title="Machines are coming soon">
        Machines are sandboxes where coding agents work on this project's code, on a local Docker Engine or on
        Daytona. They will start with this project's environment variables.
      </EmptyState>
    </Card>
  );
}
