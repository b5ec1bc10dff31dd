/** The key a verification's outcome is counted under, and its repo. */
export interface Attribution {
  keyId: string;
  repoId: string;
}

// Beside the answer, never in it: a refusal must not tell the caller which key it named.
const attributions = new WeakMap<object, Attribution>();

/**
 * Marks `answer` as counted under `seen`'s key (when the verification got as far as knowing
 * one: a proven or looked-up key, a temporary credential's parent) and returns it.
 */
export function attributed<A extends object>(answer: A, seen: Partial<Attribution>): A {
  if (seen.keyId && seen.repoId) {
    attributions.set(answer, { keyId: seen.keyId, repoId: seen.repoId });
  }
  return answer;
}

export const attributionOf = (answer: object): Attribution | undefined => attributions.get(answer);
