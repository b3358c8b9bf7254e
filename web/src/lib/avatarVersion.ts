import { useSyncExternalStore } from "react";

// Bumped after the user uploads a new avatar so every <Avatar> on screen
// (header, account page) asks for the new picture instead of its cached copy.
let version = 0;
const listeners = new Set<() => void>();

export function bumpAvatarVersion(): void {
  version = Date.now();
  listeners.forEach((listener) => listener());
}

function subscribe(listener: () => void) {
  listeners.add(listener);
  return () => listeners.delete(listener);
}

export function useAvatarVersion(): number {
  return useSyncExternalStore(subscribe, () => version);
}
