import { exportJWK, exportSPKI, generateKeyPair, type JWK, SignJWT, UnsecuredJWT } from "jose";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { type ApiResponse, call, expectError, tokenFor } from "./support/api";
import { callConfigured, nowSeconds, signToken, testSecret } from "./support/auth-tokens";
import { TEST_BINDINGS } from "./support/bindings";

/** A 401 as RFC 6750 wants it: the JSON envelope plus the Bearer challenge. */
function expectInvalidToken(response: ApiResponse, message?: RegExp) {
  expectError(response, 401, message);
  expect(response.headers.get("WWW-Authenticate")).toBe('Bearer error="invalid_token"');
}

/** A 401 to a request that carried no bearer token: RFC 6750 §3.1's challenge, no error code. */
function expectNoCredentials(response: ApiResponse, message?: RegExp) {
  expectError(response, 401, message);
  expect(response.headers.get("WWW-Authenticate")).toBe("Bearer");
}

/** A protected request with this exact Authorization header (or none). */
const asCaller = (authorization?: string) =>
  call("GET", "/workspace", authorization === undefined ? {} : { authorization });

const bearer = async (token: string | Promise<string>) => `Bearer ${await token}`;

describe("a protected endpoint", () => {
  it("accepts a valid bearer token and treats its sub as the caller", async () => {
    const response = await asCaller(await bearer(tokenFor("alice")));
    expect(response.status, response.text).toBe(200);
    expect(response.body).toEqual({ success: true, workspaces: [] });
  });

  it("refuses a request without an Authorization header, with no error code in the challenge", async () => {
    expectNoCredentials(await asCaller(), /Authorization/);
  });

  it("refuses another scheme than Bearer as no credentials (RFC 6750: an unsupported method)", async () => {
    expectNoCredentials(await asCaller(`Basic ${btoa("alice:password")}`), /Bearer/);
  });

  it("refuses a Bearer header without a token", async () => {
    expectInvalidToken(await asCaller("Bearer "));
  });

  it("refuses a token that is not a JWT", async () => {
    expectInvalidToken(await asCaller("Bearer not-a-jwt"), /malformed/);
    expectInvalidToken(await asCaller("Bearer a.b.c"), /malformed/);
  });

  it("refuses a token whose signature does not verify", async () => {
    const otherSecret = new TextEncoder().encode("another-secret-0123456789abcdefghijklmnop");
    expectInvalidToken(await asCaller(await bearer(signToken(otherSecret))), /signature/);
  });

  it("refuses a valid token whose payload was altered after signing", async () => {
    const [header, , signature] = (await signToken(testSecret)).split(".");
    const forged = btoa(
      JSON.stringify({
        sub: "mallory",
        iss: TEST_BINDINGS.JWT_ISSUER,
        aud: TEST_BINDINGS.JWT_AUDIENCE,
        exp: nowSeconds() + 600,
      }),
    ).replace(/=+$/, "");
    expectInvalidToken(await asCaller(`Bearer ${header}.${forged}.${signature}`));
  });

  it("refuses an unsigned token (alg: none)", async () => {
    const unsigned = new UnsecuredJWT({ sub: "mallory" })
      .setIssuer(TEST_BINDINGS.JWT_ISSUER)
      .setAudience(TEST_BINDINGS.JWT_AUDIENCE)
      .setExpirationTime("10m")
      .encode();
    expectInvalidToken(await asCaller(`Bearer ${unsigned}`));
  });

  it("refuses an expired token", async () => {
    const token = signToken(testSecret, { claims: { exp: nowSeconds() - 3600 } });
    expectInvalidToken(await asCaller(await bearer(token)), /expired/);
  });

  it("refuses a token that is not valid yet (nbf in the future)", async () => {
    const token = signToken(testSecret, { claims: { nbf: nowSeconds() + 3600 } });
    expectInvalidToken(await asCaller(await bearer(token)), /not valid yet/);
  });

  it("refuses a token from another issuer", async () => {
    const token = signToken(testSecret, { claims: { iss: "someone-else" } });
    expectInvalidToken(await asCaller(await bearer(token)), /iss/);
  });

  it("refuses a token for another audience", async () => {
    const token = signToken(testSecret, { claims: { aud: "another-api" } });
    expectInvalidToken(await asCaller(await bearer(token)), /aud/);
  });

  it("refuses a token without an issuer or audience when they are configured", async () => {
    expectInvalidToken(
      await asCaller(await bearer(signToken(testSecret, { claims: { iss: undefined } }))),
    );
    expectInvalidToken(
      await asCaller(await bearer(signToken(testSecret, { claims: { aud: undefined } }))),
    );
  });

  it("refuses a token without a sub", async () => {
    const token = signToken(testSecret, { claims: { sub: undefined } });
    expectInvalidToken(await asCaller(await bearer(token)), /sub/);
  });

  it("refuses a token whose sub is not a usable user id", async () => {
    for (const sub of ["", "bad\u0000id", "x".repeat(256)]) {
      expectInvalidToken(await asCaller(await bearer(signToken(testSecret, { claims: { sub } }))));
    }
  });

  it("refuses a token whose sub is blank, ill-formed, padded or hides characters", async () => {
    const subs = [
      "   ",
      "\ud800",
      "alice\udc00",
      " alice",
      "alice\t",
      "alice\u200b",
      "\u202eecila",
    ];
    for (const sub of subs) {
      const response = await asCaller(await bearer(signToken(testSecret, { claims: { sub } })));
      expectInvalidToken(response, /sub claim is not a valid user id/);
    }
    // The same claims with a plain sub are accepted: the refusals above are the sub's.
    const plain = await asCaller(await bearer(signToken(testSecret, { claims: { sub: "alice" } })));
    expect(plain.status, plain.text).toBe(200);
  });

  it("refuses a token whose sub is not a number or string", async () => {
    for (const sub of [42, ["alice"], { id: "alice" }, null]) {
      expectInvalidToken(await asCaller(await bearer(signToken(testSecret, { claims: { sub } }))));
    }
  });

  it("refuses a token without an exp", async () => {
    const token = signToken(testSecret, { claims: { exp: undefined } });
    expectInvalidToken(await asCaller(await bearer(token)), /exp/);
  });

  it("refuses an HS512 token: only the algorithm the key is meant for is accepted", async () => {
    const token = signToken(testSecret, { alg: "HS512" });
    expectInvalidToken(await asCaller(await bearer(token)), /algorithm/);
  });
});

describe("a token's base64url spelling (RFC 7515: unpadded, canonical)", () => {
  const BASE64URL = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  /** The segment with its last character's unused low bits set: the same bytes, spelled otherwise. */
  const withUnusedBitsSet = (segment: string) => {
    const unused = segment.length % 4 === 2 ? 0b1111 : 0b11;
    const last = BASE64URL.indexOf(segment.slice(-1));
    return segment.slice(0, -1) + BASE64URL.charAt(last | unused);
  };
  const padded = (segment: string) => segment + "=".repeat((4 - (segment.length % 4)) % 4);

  it("accepts the token as signed", async () => {
    const response = await asCaller(await bearer(signToken(testSecret)));
    expect(response.status, response.text).toBe(200);
  });

  it("refuses a signature with = padding, or a last character with unused bits set", async () => {
    const token = await signToken(testSecret, { claims: { sub: "spelling" } });
    const [header, payload, signature] = token.split(".") as [string, string, string];
    // HS256: 32 bytes, 43 characters, the last of which carries 2 unused bits.
    expect(signature.length % 4).toBe(3);
    for (const respelled of [padded(signature), withUnusedBitsSet(signature)]) {
      expect(respelled).not.toBe(signature);
      expectInvalidToken(await asCaller(`Bearer ${header}.${payload}.${respelled}`), /canonical/);
    }
    // The original is still accepted: the refusals are the spelling's.
    const original = await asCaller(`Bearer ${token}`);
    expect(original.status, original.text).toBe(200);
  });

  it("refuses a header or payload segment with padding or unused bits set", async () => {
    // A kid and a sub of lengths that make both segments end mid-group, so both have unused bits.
    let token = "";
    for (let n = 0; !token; n++) {
      const candidate = await signToken(testSecret, {
        kid: "k",
        claims: { sub: `p${"x".repeat(n)}` },
      });
      if ((candidate.split(".")[1] as string).length % 4 !== 0) token = candidate;
    }
    const [header, payload, signature] = token.split(".") as [string, string, string];
    expect(header.length % 4).not.toBe(0);
    expect((await asCaller(`Bearer ${token}`)).status).toBe(200);
    // The signature covers these segments' text, so it would not verify either; the spelling is
    // refused first, before any crypto. Padding inside the token is not even a bearer token.
    const respellings: [string, RegExp][] = [
      [`${padded(header)}.${payload}.${signature}`, /malformed.*RFC 6750/],
      [`${withUnusedBitsSet(header)}.${payload}.${signature}`, /canonical/],
      [`${header}.${padded(payload)}.${signature}`, /malformed.*RFC 6750/],
      [`${header}.${withUnusedBitsSet(payload)}.${signature}`, /canonical/],
    ];
    for (const [respelled, reason] of respellings) {
      expect(respelled).not.toBe(token);
      expectInvalidToken(await asCaller(`Bearer ${respelled}`), reason);
    }
  });
});

describe("token lifetime", () => {
  const lifetime = async (claims: Record<string, unknown>) =>
    asCaller(await bearer(signToken(testSecret, { claims })));

  it("accepts a token living exactly the default maximum, 86400 seconds", async () => {
    const iat = nowSeconds();
    const response = await lifetime({ iat, exp: iat + 86_400 });
    expect(response.status, response.text).toBe(200);
  });

  it("refuses a token living one second longer than the default maximum", async () => {
    const iat = nowSeconds();
    expectInvalidToken(await lifetime({ iat, exp: iat + 86_401 }), /maximum of 86400 seconds/);
  });

  it("refuses a token that expires in the year 9999, and does not remember it", async () => {
    const token = await signToken(testSecret, { claims: { exp: 253_402_300_799 } });
    expectInvalidToken(await asCaller(`Bearer ${token}`), /lifetime/);
    // Asked again, the same string is refused again: nothing remembered it as valid.
    expectInvalidToken(await asCaller(`Bearer ${token}`), /lifetime/);
  });

  it("measures a token without iat from now: exp − now over the maximum is refused", async () => {
    const within = await lifetime({ iat: undefined, exp: nowSeconds() + 86_000 });
    expect(within.status, within.text).toBe(200);
    expectInvalidToken(await lifetime({ iat: undefined, exp: nowSeconds() + 90_000 }), /lifetime/);
  });

  it("refuses a token issued in the future beyond the clock tolerance", async () => {
    const iat = nowSeconds() + 120;
    expectInvalidToken(await lifetime({ iat, exp: iat + 600 }), /iat claim is in the future/);
  });

  it("accepts a token issued 10 seconds in the future (clock skew)", async () => {
    const iat = nowSeconds() + 10;
    const response = await lifetime({ iat, exp: iat + 600 });
    expect(response.status, response.text).toBe(200);
  });

  it("follows JWT_MAX_LIFETIME_SECONDS", async () => {
    const iat = nowSeconds();
    const hour = await signToken(testSecret, { claims: { iat, exp: iat + 3600 } });
    const tenMinutes = await signToken(testSecret, { claims: { iat, exp: iat + 600 } });
    const strict = { JWT_MAX_LIFETIME_SECONDS: "900" };
    const refused = await callConfigured(strict, "/workspace", `Bearer ${hour}`);
    expectInvalidToken(refused, /maximum of 900 seconds/);
    const accepted = await callConfigured(strict, "/workspace", `Bearer ${tenMinutes}`);
    expect(accepted.status, accepted.text).toBe(200);
    const week = await signToken(testSecret, { claims: { iat, exp: iat + 7 * 86_400 } });
    const lenient = await callConfigured(
      { JWT_MAX_LIFETIME_SECONDS: String(30 * 86_400) },
      "/workspace",
      `Bearer ${week}`,
    );
    expect(lenient.status, lenient.text).toBe(200);
  });

  it("fails closed with 503 when JWT_MAX_LIFETIME_SECONDS is not a whole number of seconds", async () => {
    const token = await tokenFor("alice");
    for (const setting of ["1d", "-5", "0", "59", "31536001", "1e5", "86400.5"]) {
      const response = await callConfigured(
        { JWT_MAX_LIFETIME_SECONDS: setting },
        "/workspace",
        `Bearer ${token}`,
      );
      expectError(response, 503, /JWT_MAX_LIFETIME_SECONDS/);
    }
  });
});

describe("clock tolerance", () => {
  it("still accepts a token that expired 10 seconds ago", async () => {
    const token = signToken(testSecret, { claims: { exp: nowSeconds() - 10 } });
    const response = await asCaller(await bearer(token));
    expect(response.status, response.text).toBe(200);
  });

  it("refuses a token that expired 120 seconds ago", async () => {
    const token = signToken(testSecret, { claims: { exp: nowSeconds() - 120 } });
    expectInvalidToken(await asCaller(await bearer(token)), /expired/);
  });

  it("accepts a token whose nbf is 10 seconds ahead, but not 120 seconds ahead", async () => {
    const near = signToken(testSecret, { claims: { nbf: nowSeconds() + 10 } });
    expect((await asCaller(await bearer(near))).status).toBe(200);
    const far = signToken(testSecret, { claims: { nbf: nowSeconds() + 120 } });
    expectInvalidToken(await asCaller(await bearer(far)));
  });
});

describe("public endpoints", () => {
  it("GET /health needs no token", async () => {
    const response = await call("GET", "/health");
    expect(response.status).toBe(200);
    expect(response.body).toEqual({ status: "ok" });
  });

  it("GET /health ignores a bad token rather than refusing it", async () => {
    const response = await call("GET", "/health", { authorization: "Bearer garbage" });
    expect(response.status).toBe(200);
  });
});

/** A token-free configuration: only the bindings in `keys` verify tokens. */
const withKeys = (keys: {
  JWT_SECRET?: string;
  JWT_PUBLIC_KEY?: string;
  JWT_JWKS_URL?: string;
}) => ({ JWT_SECRET: undefined, JWT_PUBLIC_KEY: undefined, JWT_JWKS_URL: undefined, ...keys });

describe("with a public key configured (JWT_PUBLIC_KEY)", () => {
  const cases = [
    { alg: "RS256", form: "PEM" },
    { alg: "RS256", form: "JWK" },
    { alg: "ES256", form: "PEM" },
    { alg: "ES256", form: "JWK" },
  ] as const;

  for (const { alg, form } of cases) {
    describe(`an ${alg} key as ${form}`, () => {
      const setup = async () => {
        const { publicKey, privateKey } = await generateKeyPair(alg);
        const material =
          form === "PEM" ? await exportSPKI(publicKey) : JSON.stringify(await exportJWK(publicKey));
        return { privateKey, material, config: withKeys({ JWT_PUBLIC_KEY: material }) };
      };

      it("accepts a token signed with the matching private key", async () => {
        const { privateKey, config } = await setup();
        const token = await signToken(privateKey, { alg, claims: { sub: "pk-user" } });
        const response = await callConfigured(config, "/workspace", `Bearer ${token}`);
        expect(response.status, response.text).toBe(200);
      });

      it("refuses an HS256 token signed with the public key's own bytes", async () => {
        const { material, config } = await setup();
        const token = await signToken(new TextEncoder().encode(material), { alg: "HS256" });
        expectInvalidToken(await callConfigured(config, "/workspace", `Bearer ${token}`));
      });

      it("refuses a token signed by another key pair", async () => {
        const { config } = await setup();
        const stranger = await generateKeyPair(alg);
        const token = await signToken(stranger.privateKey, { alg });
        expectInvalidToken(await callConfigured(config, "/workspace", `Bearer ${token}`));
      });

      it("refuses a token signed with the development secret", async () => {
        const { config } = await setup();
        const token = await signToken(testSecret);
        expectInvalidToken(await callConfigured(config, "/workspace", `Bearer ${token}`));
      });
    });
  }
});

describe("with an identity provider's key set configured (JWT_JWKS_URL)", () => {
  afterEach(() => {
    vi.restoreAllMocks();
  });

  /** An identity provider at a fresh URL serving one ES256 key; counts fetches of its key set. */
  async function identityProvider() {
    const { publicKey, privateKey } = await generateKeyPair("ES256");
    const jwk: JWK = {
      ...(await exportJWK(publicKey)),
      kid: "idp-key-1",
      alg: "ES256",
      use: "sig",
    };
    const url = `https://idp-${crypto.randomUUID()}.test/.well-known/jwks.json`;
    const provider = { up: true };
    const fetchSpy = vi.spyOn(globalThis, "fetch").mockImplementation(async (input) => {
      const requested = input instanceof Request ? input.url : String(input);
      if (requested !== url) return new Response("not found", { status: 404 });
      if (!provider.up) return new Response("upstream down", { status: 502 });
      return Response.json({ keys: [jwk] });
    });
    const sign = (sub: string) =>
      signToken(privateKey, { alg: "ES256", kid: "idp-key-1", claims: { sub } });
    const fetches = () =>
      fetchSpy.mock.calls.filter(
        ([input]) => String(input instanceof Request ? input.url : input) === url,
      ).length;
    return { config: withKeys({ JWT_JWKS_URL: url }), sign, fetches, provider };
  }

  it("accepts the provider's tokens, fetching its key set once across requests", async () => {
    const idp = await identityProvider();
    for (const user of ["idp-user-1", "idp-user-2", "idp-user-3"]) {
      const response = await callConfigured(
        idp.config,
        "/workspace",
        `Bearer ${await idp.sign(user)}`,
      );
      expect(response.status, response.text).toBe(200);
    }
    expect(idp.fetches()).toBe(1);
  });

  it("refuses a token signed with the development secret", async () => {
    const idp = await identityProvider();
    const token = await signToken(testSecret);
    expectInvalidToken(await callConfigured(idp.config, "/workspace", `Bearer ${token}`));
  });

  it("refuses a token signed by a key the provider does not publish", async () => {
    const idp = await identityProvider();
    const stranger = await generateKeyPair("ES256");
    const token = await signToken(stranger.privateKey, { alg: "ES256", kid: "idp-key-1" });
    expectInvalidToken(await callConfigured(idp.config, "/workspace", `Bearer ${token}`));
  });

  it("refuses a token naming a key id the provider does not have", async () => {
    const idp = await identityProvider();
    const stranger = await generateKeyPair("ES256");
    const token = await signToken(stranger.privateKey, { alg: "ES256", kid: "unknown-kid" });
    expectInvalidToken(await callConfigured(idp.config, "/workspace", `Bearer ${token}`));
  });

  it("answers 503, not 401, while the provider's key set cannot be fetched, and recovers", async () => {
    const errors = vi.spyOn(console, "error").mockImplementation(() => {});
    const idp = await identityProvider();
    idp.provider.up = false;
    const token = `Bearer ${await idp.sign("idp-user")}`;
    const down = await callConfigured(idp.config, "/workspace", token);
    expectError(down, 503, /identity provider/);
    expect(down.headers.get("WWW-Authenticate")).toBeNull();
    // The log names jose's failure by its code, which survives minification (class names do not).
    const logged = errors.mock.calls.map((args) => String(args[0]));
    expect(logged.join("\n")).toMatch(
      /"message":"JWKS fetch failed".*"reason":"ERR_JOSE_GENERIC: /,
    );

    idp.provider.up = true;
    const up = await callConfigured(idp.config, "/workspace", token);
    expect(up.status, up.text).toBe(200);
  });
});

describe("without a usable verification key", () => {
  // A misconfiguration is logged on every request; that is expected here.
  beforeEach(() => {
    vi.spyOn(console, "error").mockImplementation(() => {});
  });
  afterEach(() => {
    vi.restoreAllMocks();
  });

  it("answers 503 JSON when no key is configured, even to a well-formed token", async () => {
    const response = await callConfigured(
      withKeys({}),
      "/workspace",
      await bearer(tokenFor("alice")),
    );
    expectError(response, 503, /not configured/);
    expect(response.headers.get("WWW-Authenticate")).toBeNull();
  });

  it("answers 503 when JWT_SECRET is shorter than 32 characters, even to a token signed with it", async () => {
    const shortSecret = "too-short-secret-31-characters!";
    expect(shortSecret.length).toBe(31);
    const token = await new SignJWT({})
      .setProtectedHeader({ alg: "HS256" })
      .setSubject("alice")
      .setIssuer(TEST_BINDINGS.JWT_ISSUER)
      .setAudience(TEST_BINDINGS.JWT_AUDIENCE)
      .setExpirationTime("10m")
      .sign(new TextEncoder().encode(shortSecret));
    const response = await callConfigured(
      withKeys({ JWT_SECRET: shortSecret }),
      "/workspace",
      `Bearer ${token}`,
    );
    expectError(response, 503, /JWT_SECRET/);
  });

  it("accepts a JWT_SECRET of exactly 32 characters", async () => {
    const secret = "exactly-32-characters-of-secret!";
    expect(secret.length).toBe(32);
    const token = await signToken(new TextEncoder().encode(secret));
    const response = await callConfigured(
      withKeys({ JWT_SECRET: secret }),
      "/workspace",
      `Bearer ${token}`,
    );
    expect(response.status, response.text).toBe(200);
  });

  it("still serves /health", async () => {
    const response = await callConfigured(withKeys({}), "/health");
    expect(response.status).toBe(200);
  });
});

describe("recognising the type of a configured public key", () => {
  beforeEach(() => {
    vi.spyOn(console, "error").mockImplementation(() => {});
  });
  afterEach(() => {
    vi.restoreAllMocks();
  });

  const base64 = (der: Uint8Array) => btoa(String.fromCharCode(...der));
  const derOf = (pem: string) =>
    Uint8Array.from(atob(pem.replace(/-----[^-]+-----|\s/g, "")), (c) => c.charCodeAt(0));

  it("reads the key type from the PEM's algorithm, not from bytes inside the key", async () => {
    const { publicKey, privateKey } = await generateKeyPair("RS256");
    const der = derOf(await exportSPKI(publicKey));
    // Put the Ed25519 OID's bytes (06 03 2b 65 70) into the middle of the RSA modulus.
    der.set([0x06, 0x03, 0x2b, 0x65, 0x70], 100);
    const pem = `-----BEGIN PUBLIC KEY-----\n${base64(der)}\n-----END PUBLIC KEY-----`;
    const token = await signToken(privateKey, { alg: "RS256" });
    const response = await callConfigured(
      withKeys({ JWT_PUBLIC_KEY: pem }),
      "/workspace",
      `Bearer ${token}`,
    );
    // Still an RS256 key (whose modulus no longer matches the signature), not an EdDSA one.
    expectInvalidToken(response, /signature/);
  });

  const unusable: [string, () => Promise<string>][] = [
    [
      "a JWK that names a symmetric algorithm",
      async () => {
        const { publicKey } = await generateKeyPair("RS256");
        return JSON.stringify({ ...(await exportJWK(publicKey)), alg: "HS256" });
      },
    ],
    [
      "a private JWK",
      async () => {
        const { privateKey } = await generateKeyPair("ES256", { extractable: true });
        return JSON.stringify(await exportJWK(privateKey));
      },
    ],
    ["a symmetric JWK", async () => JSON.stringify({ kty: "oct", k: "c2VjcmV0" })],
    ["text that is neither a JWK nor a PEM", async () => "not a key"],
  ];

  for (const [what, material] of unusable) {
    it(`answers 503 when JWT_PUBLIC_KEY is ${what}`, async () => {
      const response = await callConfigured(
        withKeys({ JWT_PUBLIC_KEY: await material() }),
        "/workspace",
        await bearer(tokenFor("alice")),
      );
      expectError(response, 503, /JWT_PUBLIC_KEY/);
    });
  }
});
