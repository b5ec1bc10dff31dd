import { describe, expect, it } from "vitest";
import { ApiError } from "../../src/http/error";
import { acceptedBaseUrl, loopbackAllowed } from "../../src/providers/base-url";

const deployed = { ownHost: "api.flashgate.example", allowLoopback: false };
const development = { ownHost: "127.0.0.1:8787", allowLoopback: true };

function refusal(url: string, context = deployed): string {
  try {
    acceptedBaseUrl(url, context);
  } catch (error) {
    expect(error).toBeInstanceOf(ApiError);
    const apiError = error as ApiError;
    expect(apiError.status).toBe(400);
    expect(apiError.issues?.[0]?.path).toBe("baseUrl");
    return apiError.issues?.[0]?.message as string;
  }
  throw new Error(`${url} was accepted`);
}

describe("a provider base URL", () => {
  it("is accepted as https to a public host, without its trailing slash", () => {
    expect(acceptedBaseUrl("https://api.openai.com/v1/", deployed)).toBe(
      "https://api.openai.com/v1",
    );
    expect(acceptedBaseUrl("https://LLM.Example.com:8443/openai", deployed)).toBe(
      "https://llm.example.com:8443/openai",
    );
    expect(acceptedBaseUrl("https://8.8.8.8/v1", deployed)).toBe("https://8.8.8.8/v1");
    expect(acceptedBaseUrl("https://[2606:4700::1111]/v1", deployed)).toBe(
      "https://[2606:4700::1111]/v1",
    );
  });

  it("is refused unless https", () => {
    for (const url of ["http://api.openai.com/v1", "ftp://llm.example.com", "file:///etc/passwd"]) {
      expect(refusal(url)).toBe("must be an https URL");
    }
  });

  it("is refused when it is not an absolute URL, or carries credentials, a query or a fragment", () => {
    expect(refusal("api.openai.com/v1")).toBe("must be an absolute URL");
    expect(refusal("https://user:pass@llm.example.com")).toMatch(/user name or password/);
    expect(refusal("https://llm.example.com/v1?key=x")).toMatch(/query or fragment/);
    expect(refusal("https://llm.example.com/v1#x")).toMatch(/query or fragment/);
  });

  it("is refused when it targets the service itself, on any port", () => {
    for (const url of [
      "https://api.flashgate.example/v1",
      "https://API.FLASHGATE.EXAMPLE:8443/",
      "https://api.flashgate.example./v1",
    ]) {
      expect(refusal(url)).toMatch(/own host|address/);
    }
  });

  const nonPublic = [
    "https://127.0.0.1/",
    "https://127.1.2.3:9000/",
    "https://0x7f.1/", // 127.0.0.1 spelt in hex
    "https://2130706433/", // 127.0.0.1 as one number
    "https://0.0.0.0/",
    "https://10.1.2.3/",
    "https://172.16.0.1/",
    "https://172.31.255.255/",
    "https://192.168.0.10/",
    "https://169.254.169.254/latest/meta-data",
    "https://100.64.0.1/",
    "https://224.0.0.1/",
    "https://[::1]/",
    "https://[::]/",
    "https://[fc00::1]/",
    "https://[fd12:3456::1]/",
    "https://[fe80::1]/",
    "https://[::ffff:127.0.0.1]/",
    "https://[::ffff:10.0.0.1]/",
    "https://[64:ff9b::a9fe:a9fe]/", // NAT64 of 169.254.169.254
  ];
  for (const url of nonPublic) {
    it(`is refused for the non-public address ${url}`, () => {
      expect(refusal(url)).toBe("must not be a private, loopback, link-local or reserved address");
    });
  }

  it("is refused for localhost names", () => {
    for (const url of ["https://localhost/", "https://LOCALHOST:8080/", "https://a.localhost/"]) {
      expect(refusal(url)).toMatch(/localhost/);
    }
  });

  it("keeps public neighbours of private ranges", () => {
    for (const url of ["https://172.15.0.1/", "https://172.32.0.1/", "https://100.128.0.1/"]) {
      expect(acceptedBaseUrl(url, deployed)).toBe(url.replace(/\/$/, ""));
    }
  });

  describe("in development (AI_PROVIDER_ALLOW_LOOPBACK=true)", () => {
    it("accepts http and https to loopback, for a local mock provider", () => {
      for (const url of [
        "http://127.0.0.1:9999/v1",
        "http://localhost:9999",
        "https://127.0.0.1:9443",
        "http://[::1]:9999/",
      ]) {
        expect(acceptedBaseUrl(url, development)).toBe(url.replace(/\/$/, ""));
      }
    });

    it("still refuses the service's own port, private networks and plain http elsewhere", () => {
      expect(refusal("http://127.0.0.1:8787/v1", development)).toMatch(/own host/);
      expect(refusal("http://10.0.0.1:9999/", development)).toBe("must be an https URL");
      expect(refusal("https://10.0.0.1:9999/", development)).toMatch(/private/);
      expect(refusal("http://llm.example.com/", development)).toBe("must be an https URL");
    });
  });

  it('allows loopback only for the exact setting "true"', () => {
    expect(loopbackAllowed({ AI_PROVIDER_ALLOW_LOOPBACK: "true" })).toBe(true);
    for (const value of [undefined, "", "1", "TRUE", "yes", " true"]) {
      expect(loopbackAllowed({ AI_PROVIDER_ALLOW_LOOPBACK: value })).toBe(false);
    }
  });
});
