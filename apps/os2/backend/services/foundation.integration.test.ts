import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestOs2, type TestOs2 } from "../testing/harness.ts";

describe("foundation smoke", () => {
  let t: TestOs2;
  beforeAll(async () => {
    t = await createTestOs2();
  });
  afterAll(async () => t?.close());

  it("signs in with the +test code and creates an org and project", async () => {
    const cookie = await t.signIn("ada+test@example.com");
    const api = t.client({ cookie });
    const me = await api.user.me.query();
    expect(me?.email).toBe("ada+test@example.com");
    const org = await api.organization.create.mutate({ name: "Acme Labs" });
    expect(org.slug).toBe("acme-labs");
    const project = await api.project.create.mutate({ organizationSlug: org.slug, name: "Web App" });
    expect(project.slug).toBe("web-app");
    const again = await api.project.create.mutate({ organizationSlug: org.slug, name: "Web App" });
    expect(again.slug).toBe("web-app-2");
  });
});
