import { act, useState } from "react";
import { createRoot, type Root } from "react-dom/client";
import { afterEach, describe, expect, it } from "vitest";
import { createClient } from "../src/index";
import { LatchkeyProvider, RequireAuth, useResource, useSession, type Resource } from "../src/react";
import { ada, fakeServer, json, noContent } from "./fakes";

(globalThis as { IS_REACT_ACT_ENVIRONMENT?: boolean }).IS_REACT_ACT_ENVIRONMENT = true;

let root: Root | null = null;
let container: HTMLElement | null = null;

async function render(node: React.ReactNode): Promise<HTMLElement> {
  container = document.createElement("div");
  root = createRoot(container);
  await act(async () => root?.render(node));
  return container;
}

afterEach(() => {
  act(() => root?.unmount());
  root = null;
  container = null;
});

function Name() {
  const { user, status } = useSession();
  return <p>{user ? user.username : status}</p>;
}

describe("LatchkeyProvider", () => {
  it("asks for the session once and shows a guarded part only to a user with the role", async () => {
    const server = fakeServer({ "GET /api/check_session": () => json(ada) });
    const auth = createClient({ fetch: server.fetch });
    const view = await render(
      <LatchkeyProvider client={auth}>
        <Name />
        <RequireAuth fallback={<p>log in</p>}>
          <p>inside</p>
        </RequireAuth>
        <RequireAuth role="admin" forbidden={<p>not for you</p>}>
          <p>admin</p>
        </RequireAuth>
      </LatchkeyProvider>,
    );
    expect(view.textContent).toBe("adainsidenot for you");
    expect(server.requests).toHaveLength(1);
  });

  it("follows a logout made anywhere through the client", async () => {
    const server = fakeServer({ "GET /api/check_session": () => json(ada), "DELETE /api/logout": () => noContent() });
    const auth = createClient({ fetch: server.fetch });
    const view = await render(
      <LatchkeyProvider client={auth}>
        <RequireAuth fallback={<p>log in</p>}>
          <Name />
        </RequireAuth>
      </LatchkeyProvider>,
    );
    expect(view.textContent).toBe("ada");
    await act(() => auth.logout());
    expect(view.textContent).toBe("log in");
  });
});

describe("useResource", () => {
  it("loads on mount and again on reload or when deps change, ignoring a superseded answer", async () => {
    const calls: string[] = [];
    let seen: Resource<string> | null = null;
    let setKey: (key: string) => void = () => {};
    const pending: ((value: string) => void)[] = [];
    function Probe() {
      const [key, set] = useState("a");
      setKey = set;
      seen = useResource(
        () =>
          new Promise<string>((resolve) => {
            calls.push(key);
            pending.push((value) => resolve(`${key}:${value}`));
          }),
        [key],
      );
      return null;
    }
    await render(<Probe />);
    expect(seen).toMatchObject({ loading: true, data: undefined });

    await act(async () => pending[0]?.("1"));
    expect(seen).toMatchObject({ loading: false, data: "a:1", error: undefined });

    await act(async () => setKey("b"));
    await act(async () => setKey("c"));
    await act(async () => pending[2]?.("late"));
    await act(async () => pending[1]?.("superseded"));
    expect(seen).toMatchObject({ loading: false, data: "c:late" });

    await act(async () => (seen as Resource<string> | null)?.reload());
    expect(seen).toMatchObject({ loading: true, data: "c:late" });
    expect(calls).toEqual(["a", "b", "c", "c"]);
  });

  it("keeps the error and drops an answer that comes after unmount", async () => {
    let seen: Resource<number> | null = null;
    let fail: (error: Error) => void = () => {};
    function Probe() {
      seen = useResource(() => new Promise<number>((_, reject) => (fail = reject)), []);
      return null;
    }
    await render(<Probe />);
    await act(async () => fail(new Error("down")));
    expect((seen as Resource<number> | null)?.error).toEqual(new Error("down"));
    expect((seen as Resource<number> | null)?.loading).toBe(false);
  });
});

describe("useResource without anything to load", () => {
  it("stays idle for a null load and starts when one is given", async () => {
    let seen: Resource<string> | null = null;
    let enable: (on: boolean) => void = () => {};
    function Probe() {
      const [on, setOn] = useState(false);
      enable = setOn;
      seen = useResource(on ? async () => "loaded" : null, [on]);
      return null;
    }
    await render(<Probe />);
    expect(seen).toMatchObject({ loading: false, data: undefined });
    await act(async () => enable(true));
    expect(seen).toMatchObject({ loading: false, data: "loaded" });
    await act(async () => (seen as Resource<string> | null)?.update((data) => `${data}, changed`));
    expect((seen as Resource<string> | null)?.data).toBe("loaded, changed");
  });
});
