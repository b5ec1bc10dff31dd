// A stand-in for the API on 127.0.0.1, answering the few calls the scenario makes the way the
// Worker does (same paths, bodies and error envelope). It also checks what the client sends.
import { createServer } from "node:http";

export const TOKEN = "check-token";
const PREFIX = "/api"; // the client must keep a base URL's path prefix

function send(res, status, body, headers = {}) {
  res.writeHead(status, { "Content-Type": "application/json", ...headers });
  res.end(JSON.stringify(body));
}

const failure = (message, code, requestId) => ({ success: false, message, code, requestId });

async function answer(req, res) {
  let text = "";
  for await (const chunk of req) text += chunk;
  const { pathname } = new URL(req.url, "http://localhost");
  const route = `${req.method} ${pathname}`;

  if (req.headers.authorization !== `Bearer ${TOKEN}`) {
    return send(res, 401, failure("The access token is malformed", "UNAUTHORIZED", "req-401"));
  }
  if (route === `GET ${PREFIX}/repo/r1/apikey`) {
    if (text || req.headers["content-type"]) {
      return send(res, 400, failure("A GET carries no body", "BAD_REQUEST", "req-400"));
    }
    return send(res, 200, {
      success: true,
      keys: [{ id: "k1", name: "CI Bot", accessType: "READ", key: "FBAK1", createdAt: "x" }],
    });
  }
  if (route === `POST ${PREFIX}/repo/r1/apikey`) {
    const body = JSON.parse(text);
    // Exactly the wire body: `access` was turned into `accessType`.
    if (JSON.stringify(body) !== JSON.stringify({ name: "CI Bot", accessType: "READ" })) {
      return send(res, 400, failure(`unexpected body ${text}`, "VALIDATION_FAILED", "req-400"));
    }
    return send(res, 200, { success: true, id: "k1", key: "FBAK1", secret: "s3cr3t" });
  }
  if (route === `GET ${PREFIX}/repo/forbidden/apikey`) {
    return send(res, 403, failure("Insufficient permissions", "FORBIDDEN", "req-403"), {
      "X-Request-Id": "req-403",
    });
  }
  return send(res, 404, failure(`No route for ${route}`, "NOT_FOUND", "req-404"));
}

/** Starts the stand-in on a free port; resolves to its base URL and a way to stop it. */
export async function startFakeApi() {
  const server = createServer((req, res) => {
    answer(req, res).catch((error) => send(res, 500, failure(String(error), "INTERNAL")));
  });
  await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address();
  return {
    baseUrl: `http://127.0.0.1:${port}${PREFIX}`,
    close: () => new Promise((resolve) => server.close(resolve)),
  };
}
