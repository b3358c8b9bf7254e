// What token mode needs from the browser to share one login between tabs,
// reduced to the few members it calls so tests can pass fakes.

/** `navigator.locks`: only `request(name, callback)` is used. */
export interface LockManagerLike {
  request<T>(name: string, callback: () => Promise<T>): Promise<T>;
}

/** A `BroadcastChannel` of one name. */
export interface ChannelLike {
  postMessage(message: unknown): void;
  addEventListener(type: "message", listener: (event: { data: unknown }) => void): void;
  close(): void;
}

/** `localStorage`, `sessionStorage` or anything with the same three methods. */
export interface StorageLike {
  getItem(key: string): string | null;
  setItem(key: string, value: string): void;
  removeItem(key: string): void;
}

export function defaultLocks(): LockManagerLike | null {
  const locks = (globalThis.navigator as { locks?: LockManagerLike } | undefined)?.locks;
  return locks && typeof locks.request === "function" ? locks : null;
}

export function defaultChannel(name: string): ChannelLike | null {
  return typeof globalThis.BroadcastChannel === "function" ? new globalThis.BroadcastChannel(name) : null;
}

export function defaultIndexedDb(): IDBFactory | null {
  try {
    return globalThis.indexedDB ?? null;
  } catch {
    // Storage switched off (some private modes throw on access).
    return null;
  }
}

export function defaultStorage(): StorageLike | null {
  try {
    return globalThis.localStorage ?? null;
  } catch {
    // Storage switched off (some private modes throw on access).
    return null;
  }
}

/** Storage that forgets on error: a full or forbidden storage must not break a login. */
export function safeStorage(storage: StorageLike | null): StorageLike {
  const memory = new Map<string, string>();
  return {
    getItem: (key) => {
      try {
        return storage ? storage.getItem(key) : (memory.get(key) ?? null);
      } catch {
        return memory.get(key) ?? null;
      }
    },
    setItem: (key, value) => {
      memory.set(key, value);
      try {
        storage?.setItem(key, value);
      } catch {
        // Kept in memory only: this tab still works, a reload logs out.
      }
    },
    removeItem: (key) => {
      memory.delete(key);
      try {
        storage?.removeItem(key);
      } catch {
        // Nothing else to do: the value is gone from memory.
      }
    },
  };
}
