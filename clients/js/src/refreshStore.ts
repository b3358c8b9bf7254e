// Where token mode keeps the refresh token, so that tabs and reloads share one login.
//
// The tabs decide who refreshes by reading this record under a Web Lock, so what
// one tab wrote before letting go of the lock must be what the next holder reads.
// IndexedDB promises that: a transaction started after another connection's
// transaction committed sees its writes. localStorage does not (Chromium caches it
// per renderer process and hands other tabs' writes over later), so it is only
// the fallback where IndexedDB is missing.

import { defaultIndexedDb, defaultStorage, safeStorage, type StorageLike } from "./tabs.js";

/** The refresh token, and until when the access token issued with it is fresh. */
export interface RefreshRecord {
  refreshToken: string;
  freshUntil: number;
}

export interface RefreshStore {
  read(): Promise<RefreshRecord | null>;
  /** Resolves once the record is committed, so that the next lock holder reads it. */
  write(record: RefreshRecord): Promise<void>;
  remove(): Promise<void>;
}

/** What an app may pass as `storage`: an IndexedDB factory, a `Storage`, or null for memory only. */
export type TokenStorage = IDBFactory | StorageLike | null;

/** The form the record takes in storage, the same in IndexedDB and as JSON text. */
interface StoredForm {
  refresh_token: string;
  fresh_until: number;
}

const OBJECT_STORE = "tokens";
const RECORD_KEY = "refresh_token";

/**
 * The store for the `storage` option: undefined picks IndexedDB (localStorage where
 * it is missing), null keeps the record in this tab's memory.
 */
export function refreshStore(storage: TokenStorage | undefined, storageKey: string): RefreshStore {
  const key = `${storageKey}:refresh_token`;
  const memory = () => storageStore(safeStorage(null), key);
  if (storage === null) return memory();
  if (storage === undefined) {
    const fallback = storageStore(safeStorage(defaultStorage()), key);
    const factory = defaultIndexedDb();
    return factory ? indexedDbStore(factory, key, fallback) : fallback;
  }
  if (isIndexedDb(storage)) return indexedDbStore(storage, key, memory());
  return storageStore(safeStorage(storage), key);
}

function isIndexedDb(storage: IDBFactory | StorageLike): storage is IDBFactory {
  return typeof (storage as Partial<IDBFactory>).open === "function" && typeof (storage as Partial<StorageLike>).getItem !== "function";
}

/** One entry of a `Storage`, holding the record as JSON. */
export function storageStore(storage: StorageLike, key: string): RefreshStore {
  return {
    read: async () => {
      const text = storage.getItem(key);
      if (text === null) return null;
      try {
        const parsed = fromStored(JSON.parse(text));
        if (parsed) return parsed;
      } catch {
        // Not written by this client: taken as a bare refresh token below.
      }
      return { refreshToken: text, freshUntil: 0 };
    },
    write: async (record) => storage.setItem(key, JSON.stringify(toStored(record))),
    remove: async () => storage.removeItem(key),
  };
}

/**
 * The record in the IndexedDB database `name` (object store "tokens", key
 * "refresh_token"). If the database cannot be opened or written (storage switched
 * off, quota), `fallback` is used from then on: this tab keeps working.
 */
export function indexedDbStore(factory: IDBFactory, name: string, fallback: RefreshStore): RefreshStore {
  let opening: Promise<IDBDatabase> | null = null;
  let broken = false;

  const database = (): Promise<IDBDatabase> => {
    opening ??= openDatabase(factory, name).then(
      (db) => {
        // Closed so that a newer version of this code can upgrade the database, or
        // closed by the browser (site data cleared): the next call opens it again.
        db.onversionchange = () => {
          db.close();
          opening = null;
        };
        db.onclose = () => {
          opening = null;
        };
        return db;
      },
      (error: unknown) => {
        opening = null;
        throw error;
      },
    );
    return opening;
  };

  async function attempt<T>(work: (db: IDBDatabase) => Promise<T>, instead: () => Promise<T>): Promise<T> {
    if (broken) return instead();
    // Once more with a new connection: the last one may have been closed meanwhile.
    for (let tries = 0; tries < 2; tries++) {
      let db: IDBDatabase | null = null;
      try {
        db = await database();
        return await work(db);
      } catch {
        db?.close();
        opening = null;
      }
    }
    broken = true;
    return instead();
  }

  return {
    read: () =>
      attempt(
        async (db) => fromStored(await transact(db, "readonly", (store) => store.get(RECORD_KEY))),
        () => fallback.read(),
      ),
    write: (record) =>
      attempt(
        async (db) => {
          await transact(db, "readwrite", (store) => store.put(toStored(record), RECORD_KEY));
        },
        () => fallback.write(record),
      ),
    remove: () =>
      attempt(
        async (db) => {
          await transact(db, "readwrite", (store) => store.delete(RECORD_KEY));
        },
        () => fallback.remove(),
      ),
  };
}

/**
 * Opens the database at whatever version it has, creating it with its object store
 * if new; a database of that name without the store is upgraded to add it.
 */
function openDatabase(factory: IDBFactory, name: string, version?: number): Promise<IDBDatabase> {
  return new Promise<IDBDatabase>((resolve, reject) => {
    const request = version === undefined ? factory.open(name) : factory.open(name, version);
    request.onupgradeneeded = () => {
      if (!request.result.objectStoreNames.contains(OBJECT_STORE)) request.result.createObjectStore(OBJECT_STORE);
    };
    request.onsuccess = () => resolve(request.result);
    request.onerror = () => reject(request.error ?? new Error(`IndexedDB ${name} cannot be opened`));
  }).then((db) => {
    if (db.objectStoreNames.contains(OBJECT_STORE)) return db;
    // Created by someone else without it (opened without a version, say).
    db.close();
    return openDatabase(factory, name, db.version + 1);
  });
}

/** Runs one request in a transaction; resolves with its result once the transaction has committed. */
function transact(db: IDBDatabase, mode: IDBTransactionMode, work: (store: IDBObjectStore) => IDBRequest): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const transaction = db.transaction(OBJECT_STORE, mode);
    const request = work(transaction.objectStore(OBJECT_STORE));
    transaction.oncomplete = () => resolve(request.result);
    transaction.onerror = () => reject(transaction.error ?? request.error ?? new Error("IndexedDB transaction failed"));
    transaction.onabort = () => reject(transaction.error ?? new Error("IndexedDB transaction aborted"));
  });
}

function toStored(record: RefreshRecord): StoredForm {
  return { refresh_token: record.refreshToken, fresh_until: record.freshUntil };
}

function fromStored(value: unknown): RefreshRecord | null {
  if (!value || typeof value !== "object" || !("refresh_token" in value) || typeof value.refresh_token !== "string") return null;
  const freshUntil = "fresh_until" in value && typeof value.fresh_until === "number" ? value.fresh_until : 0;
  return { refreshToken: value.refresh_token, freshUntil };
}
