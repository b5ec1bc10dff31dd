// Shared by vitest.config.ts (Node) and the tests (workerd): plain data only.
export const TEST_BINDINGS = {
  JWT_SECRET: "test-secret-0123456789abcdefghijklmnopqrstuvwxyz",
  JWT_ISSUER: "flashgate-test",
  JWT_AUDIENCE: "flashgate-api",
  // Two keys: "t2" seals, "t1" only opens (a rotation in progress).
  ENCRYPTION_KEYS:
    "t2:nGVoHUQkKYKYxh5ziKL+0IzeBTjepn+LZeSjxGGmgMw=,t1:AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=",
  STORAGE_KEY_QUOTA: "100",
  AI_KEY_QUOTA: "100",
  // As in development (scripts/dev.mjs): a provider base URL may be a local mock on loopback.
  AI_PROVIDER_ALLOW_LOOPBACK: "true",
};
