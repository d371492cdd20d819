// The device's identity in IndexedDB: the activation record and its ECDSA P-256 key pair. The private key is
// made non-extractable, so no script (this one included) can read it out; IndexedDB keeps the CryptoKey object
// itself (structured clone), which only this origin can use to sign.
const DB_NAME = 'dialtone-authenticator';
const STORE = 'device';
const RECORD = 'current';

function open() {
  return new Promise((resolve, reject) => {
    const request = indexedDB.open(DB_NAME, 1);
    request.onupgradeneeded = () => request.result.createObjectStore(STORE);
    request.onsuccess = () => resolve(request.result);
    request.onerror = () => reject(request.error);
  });
}

async function withStore(mode, work) {
  const db = await open();
  try {
    return await new Promise((resolve, reject) => {
      const tx = db.transaction(STORE, mode);
      const request = work(tx.objectStore(STORE));
      tx.oncomplete = () => resolve(request.result);
      tx.onerror = () => reject(tx.error);
      tx.onabort = () => reject(tx.error);
    });
  } finally {
    db.close();
  }
}

/** A new key pair for an activation: the private half can sign but never be exported. */
export function newKeyPair() {
  return crypto.subtle.generateKey({ name: 'ECDSA', namedCurve: 'P-256' }, false, ['sign', 'verify']);
}

/** The activated device `{deviceId, apiUrl, username, serviceName, name, keyPair, webPushKey, skewMs}` or null. */
export async function loadDevice() {
  return (await withStore('readonly', (store) => store.get(RECORD))) ?? null;
}

export function saveDevice(device) {
  return withStore('readwrite', (store) => store.put(device, RECORD));
}

export function forgetDevice() {
  return withStore('readwrite', (store) => store.delete(RECORD));
}
