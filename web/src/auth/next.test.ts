import { describe, expect, it } from "vitest";
import { consentPathFor, loginPathFor, oauthLoginPathFor, safeNext, safeReturnTo } from "./next";

describe("safeNext", () => {
  it.each(["/", "/account", "/admin/users?after=5", "/account#sessions"])("keeps the same-site path %s", (path) => {
    expect(safeNext(path)).toBe(path);
  });

  it.each([
    null,
    "",
    "account",
    "//evil.example/account",
    "/\\evil.example",
    "https://evil.example/",
    "javascript:alert(1)",
    "/\t/evil.example",
    "/\n/evil.example",
    " /account",
  ])("refuses %j", (next) => {
    expect(safeNext(next)).toBeNull();
  });
});

describe("loginPathFor", () => {
  it("carries the wanted page, encoded, but not the home page", () => {
    expect(loginPathFor("/account?tab=sessions")).toBe("/login?next=%2Faccount%3Ftab%3Dsessions");
    expect(loginPathFor("/")).toBe("/login");
  });
});

describe("safeReturnTo", () => {
  it("takes the first same-site path among the candidates", () => {
    expect(safeReturnTo("/account", "/admin")).toBe("/account");
    expect(safeReturnTo(undefined, "/admin/users?after=5")).toBe("/admin/users?after=5");
    expect(safeReturnTo("https://evil.example/", "/account")).toBe("/account");
  });

  it.each([
    [[]],
    [[null]],
    [["//evil.example"]],
    [["/\\evil.example", "https://evil.example"]],
    [["javascript:alert(1)"]],
    [["/\t/evil.example"]],
    [["account"]],
  ])("falls back to the home page for %j", (candidates) => {
    expect(safeReturnTo(...candidates)).toBe("/");
  });
});

describe("an app's sign-in request", () => {
  it("is carried, encoded, to the login and consent pages, which are same-site paths", () => {
    expect(oauthLoginPathFor("a-b_c")).toBe("/login?oauth=a-b_c");
    expect(consentPathFor("a b&c")).toBe("/consent?oauth=a%20b%26c");
    expect(safeNext(consentPathFor("a-b_c"))).toBe("/consent?oauth=a-b_c");
  });
});
