/** The KeyVerifier model's chain of chunk signatures (key-verifier-model.mjs). */
export function modelChunkSignature(
  previous: string,
  sha256: string,
  trailer?: boolean,
): Promise<string>;

/** The creation date the model answers for every key's repo (`repoCreatedAt`). */
export function modelRepoCreatedAt(): string;
