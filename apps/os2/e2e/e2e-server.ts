/**
 * Where the e2e server listens. The browser uses `localhost` (the public URL better-auth trusts); Node-side
 * API calls use 127.0.0.1, the address the server binds, so an IPv6-first `localhost` cannot refuse them.
 */
export const E2E_PORT = Number(process.env.OS2_E2E_PORT ?? 3117);
export const E2E_BASE_URL = `http://localhost:${E2E_PORT}`;
export const E2E_API_URL = `http://127.0.0.1:${E2E_PORT}`;
