// The two functions test/openapi.test.ts calls from "@scalar/workspace-store/request-example",
// copied from that package's declarations (1.76's dist/request-example). tsconfig.json's `paths`
// points the root type check here, so it does not parse the package's ~600 declaration files
// for two signatures (it took about a third of `tsc -p .`). Vitest still runs the package itself.

export type GetExampleFromSchemaOptions = {
  binaryAsFile?: boolean;
  emptyString?: string;
  xml?: boolean;
  mode?: "read" | "write";
  variables?: Record<string, unknown>;
  omitEmptyAndOptionalProperties?: boolean;
  includeDeprecated?: boolean;
  compositionSelection?: Record<string, number>;
};

export declare const getExampleFromSchema: (
  schema: Record<string, unknown>,
  options?: GetExampleFromSchemaOptions,
  context?: Partial<{ level: number; name: string; schemaPath: string[] }>,
) => unknown;

export declare function getServers(
  servers: { url: string; description?: string }[] | undefined,
  options?: { baseServerUrl?: string; documentUrl?: string },
): { url: string; description?: string }[];
