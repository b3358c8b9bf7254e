import { describe, expect, it } from "vitest";
import { describeDetail, describeKind } from "./audit";

describe("describeDetail", () => {
  it("reads objects, lists and scalars as one line", () => {
    expect(describeDetail({ roles: ["user", "admin"], by: "cli" })).toBe("roles: user, admin; by: cli");
    expect(describeDetail({ session_id: 2 })).toBe("session id: 2");
    expect(describeDetail({ username: null })).toBe("username: —");
    expect(describeDetail("reused refresh token")).toBe("reused refresh token");
    expect(describeDetail(null)).toBe("");
  });
});

describe("describeKind", () => {
  it("names known kinds, flags the worrying ones, and still shows unknown ones", () => {
    expect(describeKind("login_failed")).toEqual({ label: "Failed login", warn: true });
    expect(describeKind("login_succeeded")).toEqual({ label: "Logged in", warn: false });
    expect(describeKind("mfa_enrolled")).toEqual({ label: "mfa enrolled", warn: false });
  });
});
