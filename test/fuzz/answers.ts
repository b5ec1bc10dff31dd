import type { DocumentedOperation } from "./documented-operations";

/** An answer as any client sees it. */
export interface Answer {
  status: number;
  /** A response header's value, or null. */
  header(name: string): string | null;
  text: string;
}

const isJson = (contentType: string | null) => /^application\/json\b/i.test(contentType ?? "");

function parsed(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

/**
 * What is wrong with an answer to `method` on `operation`, by the rules every answer keeps: never
 * a 5xx; an X-Request-Id always; an error is the JSON envelope {success:false, message, code,
 * requestId} with the header's id; a success is JSON (or what the document says it is), and a
 * 204 or an answer to HEAD has no body. Empty when nothing is.
 */
export function answerProblems(
  method: string,
  operation: DocumentedOperation | undefined,
  answer: Answer,
): string[] {
  const problems: string[] = [];
  const { status, text } = answer;
  const requestId = answer.header("X-Request-Id");
  const contentType = answer.header("Content-Type");
  if (status >= 500) problems.push(`a server error (${status})`);
  if (status < 200 || (status >= 300 && status < 400)) problems.push(`unexpected status ${status}`);
  if (!requestId) problems.push("no X-Request-Id header");
  const bodyless = status === 204 || method.toUpperCase() === "HEAD";
  if (bodyless) {
    if (text !== "") problems.push(`a body on a ${status} answer to ${method}`);
  }
  if (status >= 400) {
    if (!isJson(contentType)) problems.push(`an error answered as ${contentType ?? "no type"}`);
    if (bodyless) return problems;
    const body = parsed(text) as Record<string, unknown> | undefined;
    if (body === null || typeof body !== "object") {
      problems.push("an error whose body is not a JSON object");
      return problems;
    }
    if (body.success !== false) problems.push("an error without success:false");
    if (typeof body.message !== "string" || body.message.length === 0)
      problems.push("an error without a message");
    if (typeof body.code !== "string" || body.code.length === 0)
      problems.push("an error without a code");
    if (typeof body.requestId !== "string") problems.push("an error without a requestId");
    else if (body.requestId !== requestId)
      problems.push(`requestId ${body.requestId} is not X-Request-Id ${requestId}`);
  } else if (status >= 200 && status < 300 && !bodyless) {
    const documented = operation?.successes[String(status)];
    // An answer is held to the media types its operation documents; by default, JSON.
    const expected = documented?.length ? documented : ["application/json"];
    const mediaType = (contentType ?? "").split(";")[0]?.trim().toLowerCase() ?? "";
    if (!expected.includes(mediaType))
      problems.push(
        `a ${status} answered as ${contentType ?? "no type"}, not ${expected.join(" or ")}`,
      );
    else if (isJson(contentType) && parsed(text) === undefined)
      problems.push(`a ${status} whose body is not JSON`);
  }
  return problems;
}
