export type { components, operations, paths } from "./api-types.js";
export { type FetchLike, FlashgateClient, type FlashgateClientOptions } from "./client.js";
export { FlashgateError } from "./error.js";
export type * from "./types.js";
