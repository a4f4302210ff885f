/** A fresh clientId for an outgoing message: unique per sender, 1-64 characters. */
export function newClientId(): string {
  return globalThis.crypto.randomUUID();
}
