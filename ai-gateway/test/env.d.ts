import type { Env as AiGatewayEnv } from "../src/env";

declare global {
  namespace Cloudflare {
    interface Env extends AiGatewayEnv {}
  }
}
